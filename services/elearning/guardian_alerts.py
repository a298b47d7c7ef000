"""Turning a child's facts into alerts for each of their guardians (elearning knows who the
guardians are; community renders the notices). Applied once per fact: the alert record's
id is the fact's event id, and it carries the alerts in its outbox. The facts arrive
through ``guardian_alerts_inbox``.

A wallet charge alerts no one: a pupil pays at the canteen and the shop several times a
day, and a notice each time would bury the ones that need the guardian to act. Charges
are in the wallet's recent movements and the monthly statement; the guardian hears when
the balance runs low (once per crossing) and when a charge is refused."""
from __future__ import annotations

import pymongo

from contracts.events.elearning import GuardianAlertV1
from services.common import outbox
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


def alert_class(db, fact: dict, kind: str, class_id: str, **fields) -> int:
    """Each guardian of each pupil in the class, once, naming only their own children."""
    klass = db[schoolbag.CLASSES].find_one({"_id": class_id}, {"title": 1}) or {}
    return _send(db, fact, kind, schoolbag.guardians_of_class(db, class_id), class_title=klass.get("title", ""),
                 **fields)
