"""The guardian alerts' inbox handlers (a mixin of ``ElearningService``): a child's facts,
each turned into alerts for the guardians by ``guardian_alerts``."""
from __future__ import annotations

from contracts.events.schoolbag import AssignmentPublishedV1, MessagePostedV1
from contracts.events.wallet import WalletLimitRefusedV1, WalletLowBalanceV1
from services.common.inbox import inbox_handler
from services.elearning.guardian_alerts import REASONS, alert, alert_class


class GuardianAlertEntrypoints:
    @inbox_handler(WalletLowBalanceV1.TYPE)
    def alert_low_balance(self, event):
        d = event["data"]
        alert(self.db, event, "wallet_low_balance", d["student_id"], amount_fen=d["balance_fen"])

    @inbox_handler(WalletLimitRefusedV1.TYPE)
    def alert_limit_refused(self, event):
        d = event["data"]
        alert(self.db, event, "wallet_limit_refused", d["student_id"], amount_fen=d["amount_fen"],
              detail=REASONS.get(d["reason"], d["reason"]))

    @inbox_handler(MessagePostedV1.TYPE)
    def alert_teacher_message(self, event):
        d = event["data"]
        if d["author_role"] == "teacher":  # guardians' own messages need no alert
            alert(self.db, event, "teacher_message", d["student_id"])

    @inbox_handler(AssignmentPublishedV1.TYPE)
    def alert_assignment_published(self, event):
        d = event["data"]
        alert_class(self.db, event, "assignment_published", d["class_id"], assignment_title=d["title"],
                    due_at=d["due_at"])
