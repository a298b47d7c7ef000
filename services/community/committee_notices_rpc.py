"""Committees' notices (the console's inbox): the RPCs a clerk reads and marks them with, and
the event handlers that write them (a mixin of ``CommunityService``, which gives ``self.db``).
Who is told what is ``committee_notices``; the store is ``committee_notices_store``."""
from __future__ import annotations

from contracts.events.community import CaseAcceptedV1, MoveDeclaredV1, ResidenceChangedV1
from services.common import clock
from services.common.arguments import page_limit
from services.common.errors import BadInput, Forbidden, NotFound
from services.common.inbox import inbox_handler
from services.common.rpc import rpc
from services.community import (cases, cases_store, committee_notices, committee_notices_store, places_store,
                                residents_store)


class CommitteeNoticeEntrypoints:
    """A committee's inbox, and the events that fill it."""

    @rpc
    def committee_notices(self, actor: dict, committee: str | None = None, limit: int = 50) -> list[dict]:
        """The committee's notices, newest first: a clerk's own committee, or the one an admin names."""
        return committee_notices_store.of_committee(self.db, self._inbox_of(actor, committee), page_limit(limit, committee_notices_store.MAX_READ))

    @rpc
    def mark_committee_notice_read(self, actor: dict, notice_id: str) -> dict:
        """A clerk marks one of their committee's notices read (for all its clerks)."""
        who = cases.actor_of(actor)
        if who.role not in ("staff", "centre"):
            raise Forbidden("clerks mark their committee's notices read")
        if not isinstance(notice_id, str) or not 1 <= len(notice_id) <= 200:
            raise BadInput("notice_id is a notice's id")
        found = committee_notices_store.mark_read(self.db, who.desk_code, notice_id, who.id, clock.now().isoformat())
        if found is None:   # another committee's notice is no notice of yours
            raise NotFound("no such notice")
        return found

    @inbox_handler(MoveDeclaredV1.TYPE)
    def on_move_declared(self, event):
        data = event["data"]
        self._tell(event, committee_notices.for_declaration(data, self._name_of(data["resident_id"]),
                                                             self._places(data["from_committee"], data["to_committee"])),
                   resident_id=data["resident_id"])

    @inbox_handler(ResidenceChangedV1.TYPE)
    def on_moved_tell_committees(self, event):
        data = event["data"]
        places = self._places(data["from_committee"], data["to_committee"], data.get("registered_committee"))
        self._tell(event, committee_notices.for_move(data, self._name_of(data["resident_id"]), places),
                   resident_id=data["resident_id"])

    @inbox_handler(CaseAcceptedV1.TYPE)
    def on_case_handed_on(self, event):
        """收受分离: a case accepted at one committee's desk, handled by another."""
        data = event["data"]
        if data["handling_committee"] == data["accepting_committee"]:
            return
        case = cases_store.get(self.db, data["case_id"], cases_store.CASE_FIELDS)
        if case is None:
            raise RuntimeError(f"case {data['case_id']} not found yet")   # retried, then dead-lettered
        if case.get("handling_district"):
            return   # handed on to another district: its committee is told there
        self._tell(event, committee_notices.for_handed_on(
            data, case, self._places(data["accepting_committee"], data["handling_committee"])),
            resident_id=data["resident_id"], case_id=data["case_id"])

    # ---- helpers --------------------------------------------------------------------------

    def _inbox_of(self, actor: dict, committee: str | None) -> str:
        who = cases.actor_of(actor)
        if who.role in ("staff", "centre"):   # a centre's inbox is its sub-district's
            if committee not in (None, who.desk_code):
                raise Forbidden("clerks read their own committee's notices")
            return who.desk_code
        if who.role == "admin" and isinstance(committee, str) and committee:
            return committee
        raise Forbidden("a committee's notices are for its clerks")

    def _tell(self, event: dict, notices: list, **about) -> None:
        at = clock.now().isoformat()
        for notice in notices:
            committee_notices_store.add(self.db, event["id"], notice, at, **about)

    def _name_of(self, resident_id: str) -> str:
        found = residents_store.name_of(self.db, resident_id)
        return found["name"] if found else ""

    def _places(self, *codes: str | None) -> dict[str, str]:
        return places_store.names(self.db, [c for c in codes if c])

