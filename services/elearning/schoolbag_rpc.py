"""The e-schoolbag's nameko entrypoints (a mixin of ``ElearningService``): roster import,
assignments, submissions and marks, home-school messages. The rules and the store work
are in ``schoolbag``; the OneRoster mapping in ``roster``.

Participants in messages are ``{"role": "teacher", "id": <roster sourcedId>}`` or
``{"role": "guardian", "id": <resident id>}``, as the gateway verified them.
"""
from __future__ import annotations

from services.common import clock
from services.common.rpc import rpc
from services.elearning import roster_store, schoolbag
from services.elearning.wallet_rpc import wallets


class SchoolbagEntrypoints:

    @rpc
    def roster_import(self, batch: list[dict]) -> dict:
        """A batch (at most 500) of roster records (``services.elearning.roster``):
        ``{"imported": n, "rejected": [{"index", "reason"}]}``; idempotent by sourcedId.
        Each student-guardian link made or removed is passed on to the wallet."""
        return roster_store.import_batch(self.db, batch, _WalletGuardianship(self))

    @rpc
    def publish_assignment(self, teacher_id: str, class_id: str, title: str, body: str, due_at: str) -> dict:
        return schoolbag.publish_assignment(self.db, teacher_id, class_id, title, body, due_at, clock.now())

    @rpc
    def submit_assignment(self, student_id: str, assignment_id: str, text: str,
                          attachments: list[str] | None = None) -> dict:
        return schoolbag.submit(self.db, student_id, assignment_id, text, attachments, clock.now())

    @rpc
    def mark_submission(self, teacher_id: str, submission_id: str, mark, comment: str | None = None) -> dict:
        return schoolbag.mark(self.db, teacher_id, submission_id, mark, comment, clock.now())

    @rpc
    def submissions_for_assignment(self, teacher_id: str, assignment_id: str) -> dict:
        return schoolbag.submissions_for_assignment(self.db, teacher_id, assignment_id)

    @rpc
    def assignments_for_student(self, student_id: str) -> list[dict]:
        return schoolbag.assignments_for_student(self.db, student_id, clock.now())

    @rpc
    def children_for_guardians(self, guardian_resident_ids: list[str], wallet_movements: int | None = None) -> dict:
        """Batch read: {resident id: {"children": [...]}} in one call. With
        ``wallet_movements``, each child carries its ``wallet`` (as ``wallet_for_students``
        gives it, or None): the dashboard's wallets without a second call that waits for this one."""
        return children_with_wallets(self.db, guardian_resident_ids, wallet_movements)

    @rpc
    def post_message(self, author: dict, text: str, thread_id: str | None = None, student_id: str | None = None,
                     class_id: str | None = None) -> dict:
        """Reply in ``thread_id``, or start a thread about ``student_id`` (with the pupil's
        class: ``class_id``, else the one class the author shares, else the homeroom)."""
        return schoolbag.post_message(self.db, author, text, thread_id=thread_id, student_id=student_id,
                                      class_id=class_id, at=clock.now())

    @rpc
    def mark_read(self, reader: dict, thread_id: str) -> dict:
        return schoolbag.mark_read(self.db, reader, thread_id, clock.now())

    @rpc
    def threads_for(self, reader: dict) -> list[dict]:
        return schoolbag.threads_for(self.db, reader)

    @rpc
    def thread_messages(self, reader: dict, thread_id: str) -> dict:
        return schoolbag.thread_messages(self.db, reader, thread_id)


def children_with_wallets(db, guardian_resident_ids: list[str], wallet_movements: int | None,
                          reads: schoolbag.RosterReads | None = None) -> dict:
    """``children_for_guardians``' answer (also a part of ``resident_overview``)."""
    found = schoolbag.children_for_guardians(db, guardian_resident_ids, clock.now(), reads)
    if wallet_movements is not None:
        children = [c for v in found.values() for c in v["children"]]
        kept = wallets(db, [c["student_id"] for c in children], wallet_movements)
        for child in children:
            child["wallet"] = kept.get(child["student_id"])
    return found


class _WalletGuardianship(roster_store.Guardianship):
    """The wallet's guardian relation (who may top up), kept in step with the roster
    when the wallet's entrypoints are composed into the same service."""

    def __init__(self, service):
        self.service = service

    def link(self, student_id, guardian_resident_id, school_id):
        link = getattr(self.service, "wallet_link_guardian", None)
        if link is not None and school_id:
            link(student_id, guardian_resident_id, school_id)

    def unlink(self, student_id, guardian_resident_id):
        unlink = getattr(self.service, "wallet_unlink_guardian", None)
        if unlink is not None:
            unlink(student_id, guardian_resident_id)
