"""Turning a child's facts into alerts for each of their guardians (elearning knows who the
guardians are; community renders the notices). Applied once per fact: the alert record's
id is the fact's event id, and it carries the alerts in its outbox.

A wallet charge alerts no one: a pupil pays at the canteen and the shop several times a
day, and a notice each time would bury the ones that need the guardian to act. Charges
are in the wallet's recent movements and the monthly statement; the guardian hears when
the balance runs low (once per crossing) and when a charge is refused."""
from __future__ import annotations

import pymongo

from contracts.events.elearning import GuardianAlertV1
from services.common import outbox
from services.common.inbox import inbox_handler
from services.common.outbox import OUTBOX_INDEX
from services.elearning import schoolbag, wallet_store

ALERTS = "guardian_alerts"
INDEXES = {ALERTS: [OUTBOX_INDEX]}
OUTBOX_COLLECTIONS = [ALERTS]
REASONS = {"frozen": "钱包已冻结", "per_payment_limit": "超过单笔限额", "daily_limit": "超过当日限额",
           "insufficient_balance": "余额不足"}
NAME_MAX = 100  # GuardianAlertV1.student_name


def alert(db, fact: dict, kind: str, student_id: str, *, amount_fen: int | None = None, detail: str = "",
          skip: str | None = None) -> int:
    student = db[schoolbag.USERS].find_one({"_id": student_id}, {"name": 1}) or {}
    guardians = [g for g in wallet_store.guardians_of(db, student_id) if g != skip]
    return _send(db, fact, kind, {g: [student.get("name", "")] for g in guardians},
                 amount_fen=amount_fen, detail=detail)


def _send(db, fact: dict, kind: str, children_of: dict[str, list[str]], **fields) -> int:
    """One alert per guardian (naming their own children only), stored with the fact's id."""
    events = [outbox.event(GuardianAlertV1.TYPE, {
        "resident_id": g, "kind": kind, "student_name": "、".join(names)[:NAME_MAX], "at": fact["time"],
        **fields}, subject=g) for g, names in children_of.items()]
    try:
        db[ALERTS].insert_one({"_id": fact["id"], **outbox.pending_fields(events)})
    except pymongo.errors.DuplicateKeyError:
        return 0
    return len(events)


class GuardianAlertEntrypoints:
    @inbox_handler("cn.elearning.wallet.low_balance.v1")
    def alert_low_balance(self, event):
        d = event["data"]
        alert(self.db, event, "wallet_low_balance", d["student_id"], amount_fen=d["balance_fen"])

    @inbox_handler("cn.elearning.wallet.limit_refused.v1")
    def alert_limit_refused(self, event):
        d = event["data"]
        alert(self.db, event, "wallet_limit_refused", d["student_id"], amount_fen=d["amount_fen"],
              detail=REASONS.get(d["reason"], d["reason"]))

    @inbox_handler("cn.elearning.message.posted.v1")
    def alert_teacher_message(self, event):
        d = event["data"]
        if d["author_role"] == "teacher":  # guardians' own messages need no alert
            alert(self.db, event, "teacher_message", d["student_id"])

    @inbox_handler("cn.elearning.assignment.published.v1")
    def alert_assignment_published(self, event):
        """Each guardian of each pupil in the class, once, naming only their own children."""
        d = event["data"]
        klass = self.db[schoolbag.CLASSES].find_one({"_id": d["class_id"]}, {"title": 1}) or {}
        _send(self.db, event, "assignment_published", schoolbag.guardians_of_class(self.db, d["class_id"]),
              class_title=klass.get("title", ""), assignment_title=d["title"], due_at=d["due_at"])
