"""The elearning service's nameko entrypoints: lifelong learning (courses, progress, the
credit bank) and the e-schoolbag pilots. Each part is a mixin of entrypoints over its own
module; this class only composes them."""
from __future__ import annotations

from nameko.dependency_providers import Config

from contracts.events.library import PopsciTvScheduledV1
from contracts.rpc.elearning import CourseV1, ElearningOverviewPartsV1, ProgressReportV1
from services.common import overview
from services.common.arguments import batch, checked_resident_id, checked_text, id_list, page_limit
from services.common.errors import BadInput
from services.common.health import HealthEntrypoints
from services.common.inbox import inbox_handler
from services.common.logs import Correlation
from services.common.tracing import Tracing
from services.common.outbox import OutboxRelay
from services.common.rpc import rpc
from services.common.storage import Store
from services.elearning.guardian_alerts_inbox import GuardianAlertEntrypoints
from services.elearning import certificates, courses, credits, learner_records, progress, schoolbag, store
from services.elearning.reports_rpc import ReportEntrypoints
from services.elearning.wallet_http import WalletHttpEntrypoints
from services.elearning.wallet_rpc import WalletEntrypoints
from services.elearning.schoolbag_rpc import SchoolbagEntrypoints, children_with_wallets
from services.elearning.school_access_rpc import SchoolAccessEntrypoints
from services.elearning.xapi import activity_store, document_store
from services.elearning.xapi.entrypoints import XapiEntrypoints


class LearningEntrypoints:
    """Courses, enrolment, progress from any channel, credits."""

    @rpc
    def upsert_courses(self, items: list[dict]) -> int:
        checked = [CourseV1.model_validate(c) for c in batch(items, "courses")]   # all checked before any is stored
        for c in checked:
            courses.publish(self.db, c.course_id, c.model_dump(exclude={"course_id"}))
        return len(checked)

    @rpc
    def search_courses(self, subject: str | None = None, provider: str | None = None,
                       channel: str | None = None, limit: int = 20) -> list[dict]:
        for name, value in (("subject", subject), ("provider", provider), ("channel", channel)):
            if value is not None and not isinstance(value, str):
                raise BadInput(f"{name} is text")
        return [_course_view(c) for c in courses.search(self.db, subject=subject, provider=provider,
                                                        channel=channel, limit=page_limit(limit, 50))]

    @rpc
    def get_course(self, course_id: str) -> dict:
        """One course with its units and lessons (each lesson's id, for progress and xAPI)."""
        return _course_view(courses.course(self.db, checked_text(course_id, "course_id", 64)))

    @rpc
    def tv_guide(self, day: str) -> list[dict]:
        """The TV programme for a day: every lesson broadcast then, by time."""
        return courses.tv_guide(self.db, day)

    @inbox_handler(PopsciTvScheduledV1.TYPE)
    def on_popsci_tv_scheduled(self, event: dict) -> None:
        """The library's editor placed a popular-science video on TV: the guide shows it."""
        courses.place_popsci(self.db, event["data"])

    @rpc
    def enrol(self, resident_id: str, course_id: str) -> dict:
        """The enrolment as the learner's overview shows it (enrolling again changes nothing)."""
        doc = courses.enrol(self.db, checked_resident_id(resident_id), str(course_id))
        return self._enrolment_views([doc])[0]

    @rpc
    def record_progress(self, resident_id: str, report: dict) -> dict:
        r = ProgressReportV1.model_validate(report)
        resident_id = checked_resident_id(resident_id)
        stored = courses.record_progress(self.db, resident_id=resident_id, course_id=r.course_id,
                                         lesson_id=r.lesson_id, position=r.position, percent=r.percent,
                                         completed=r.completed, at=r.at, channel=r.channel)
        newly_completed = credits.award_if_completed(self.db, resident_id, r.course_id)
        return {"applied": stored is not None, "course_completed": newly_completed}

    @rpc
    def learning_for_residents(self, resident_ids: list[str]) -> dict:
        """Batch read: {resident_id: {enrolments (with progress per lesson), credits}}
        in one call."""
        return {rid: self._learning_of(rid) for rid in id_list(resident_ids, "resident ids")}

    def _learning_of(self, rid: str) -> dict:
        return {"enrolments": self._enrolment_views(courses.enrolments_of(self.db, rid)),
                "credits": credits.total_of(self.db, rid)}

    def _enrolment_views(self, enrolments: list[dict]) -> list[dict]:
        titles = courses.titles(self.db, [e["course_id"] for e in enrolments])
        records = courses.progress_of(self.db, [e["_id"] for e in enrolments])
        return [progress.enrolment_view(e, titles.get(e["course_id"], ""), records.get(e["_id"], []))
                for e in enrolments]

    @rpc
    def credit_statement(self, resident_id: str) -> dict:
        return credits.statement(self.db, str(resident_id))

    @rpc
    def correct_credits(self, resident_id: str, amount: int, reason: str, by: str) -> dict:
        """An operator's correction of a learner's credits: a new ledger entry, never an edit."""
        entry = credits.correct(self.db, checked_resident_id(resident_id), amount, str(reason),
                                checked_text(by, "by", 128))
        return {k: v for k, v in entry.items() if k != "_id"} | {"entry_id": entry["_id"]}

    @rpc
    def export_learner(self, resident_id: str) -> dict:
        """Everything the suite keeps about this learner's learning (for a subject access request)."""
        return learner_records.export(self.db, str(resident_id))

    @rpc
    def erase_learner(self, resident_id: str, request_ref: str, by: str) -> dict:
        enabled = str(self.config.get("LEARNER_ERASURE", "false")).lower() in ("1", "true", "yes")
        return learner_records.erase(self.db, checked_resident_id(resident_id), enabled=enabled,
                                     request_ref=checked_text(request_ref, "request_ref"),
                                     by=checked_text(by, "by", 128))

    @rpc
    def completion_certificate(self, resident_id: str, course_id: str, learner_name: str) -> dict:
        return certificates.render(self.db, str(resident_id), str(course_id), learner_name)


class OverviewEntrypoints:
    """A resident's overview in one call (the gateway's ``me``)."""

    @rpc
    def resident_overview(self, reader: dict, resident_id: str, parts: dict) -> dict:
        """The parts asked (``ElearningOverviewPartsV1``), each as its single-purpose RPC
        computes and checks it; a part that fails its check fails alone
        (``services.common.overview``). ``threads`` are the reader's, as ``threads_for`` gives them."""
        rid = checked_resident_id(resident_id)
        roster = schoolbag.RosterReads(self.db)   # the children and the threads share their reads
        return overview.answer(overview.asked(parts, ElearningOverviewPartsV1), {
            "learning": lambda: self._learning_of(rid),
            "children": lambda wallet_movements:
                children_with_wallets(self.db, [rid], wallet_movements, roster)[rid]["children"],
            "threads": lambda: schoolbag.threads_for(self.db, reader, roster)})


def _course_view(c: dict) -> dict:
    channels = courses.channels_of(c)
    return {"course_id": c["_id"], "title": c["title"], "provider": c.get("provider"), "subjects": c.get("subjects", []),
            "credits": c.get("credits", 0), "version": c.get("version", 1), "channels": channels,
            "units": c.get("units", [])}


class ElearningService(HealthEntrypoints, LearningEntrypoints, GuardianAlertEntrypoints, SchoolbagEntrypoints,
                       SchoolAccessEntrypoints, WalletEntrypoints,
                       WalletHttpEntrypoints, XapiEntrypoints, OverviewEntrypoints, ReportEntrypoints):
    name = "elearning"

    db = Store(store.INDEXES, builds=(courses.build_tv_slots, courses.build_course_keys,
                                      document_store.build_documents, activity_store.build_definitions))
    relay = OutboxRelay(store.OUTBOX_COLLECTIONS)
    correlation_id = Correlation()
    tracing = Tracing()
    config = Config()
