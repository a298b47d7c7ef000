"""The e-schoolbag wallet's nameko entrypoints (a mixin of ElearningService): payloads are
checked against ``contracts.rpc.wallet`` and the rules of ``wallet``, then handed to
``wallet_store``. Refused charges are answers (``status: "refused"``), not errors: the
terminal gets the same answer for the same transaction however often it asks."""
from __future__ import annotations

import logging

import pymongo
from nameko.timer import timer

from contracts.rpc.wallet import (WalletChargeV1, WalletLimitsV1, WalletRefundV1, WalletTerminalV1,
                                  WalletTopUpV1)
from services.common.arguments import batch
from services.common.errors import BadInput
from services.common.rpc import rpc
from services.elearning import wallet as rules
from services.elearning import wallet_store

log = logging.getLogger(__name__)

SWEEP_SECONDS = 5


def wallets(db, student_ids: list[str], movements: int) -> dict:
    """{student_id: wallet view with its ``movements`` latest movements, or None}, checked."""
    batch(student_ids, "student ids")
    if isinstance(movements, bool) or not isinstance(movements, int) or not 0 <= movements <= 50:
        raise BadInput("movements must be a whole number from 0 to 50")
    ids = list(dict.fromkeys(rules.check_ref(s, "student_id") for s in student_ids))
    return wallet_store.for_students(db, ids, movements)


class WalletEntrypoints:
    """Terminals, guardians, top-ups, charges, refunds, limits, statements."""

    @rpc
    def wallet_register_terminal(self, terminal_id: str, school_id: str, kind: str) -> dict:
        t = WalletTerminalV1(terminal_id=terminal_id, school_id=school_id, kind=kind)
        doc = wallet_store.register_terminal(self.db, t.terminal_id, t.school_id, t.kind)
        return {"terminal_id": doc["_id"], "school_id": doc["school_id"], "kind": doc["kind"]}

    @rpc
    def wallet_link_guardian(self, student_id: str, guardian_resident_id: str, school_id: str) -> dict:
        """Called by the roster import: the guardian relation, and the wallet at the first link."""
        return wallet_store.link_guardian(self.db, rules.check_ref(student_id, "student_id"),
                                          rules.check_ref(guardian_resident_id, "guardian_resident_id"),
                                          rules.check_ref(school_id, "school_id"))

    @rpc
    def wallet_unlink_guardian(self, student_id: str, guardian_resident_id: str) -> bool:
        return wallet_store.unlink_guardian(self.db, rules.check_ref(student_id, "student_id"),
                                            rules.check_ref(guardian_resident_id, "guardian_resident_id"))

    @rpc
    def wallet_top_up(self, guardian_id: str, student_id: str, amount_fen: int, payment_ref: str) -> dict:
        """Idempotent by ``payment_ref``: the same reference answers the first outcome."""
        rules.check_top_up(amount_fen)
        req = WalletTopUpV1(guardian_id=guardian_id, student_id=student_id, amount_fen=amount_fen,
                            payment_ref=payment_ref)
        wallet_store.require_guardian(self.db, req.guardian_id, req.student_id)
        return wallet_store.top_up(self.db, req.guardian_id, req.student_id, req.amount_fen, req.payment_ref)

    @rpc
    def wallet_charge(self, terminal_id: str, terminal_txn_id: str, student_id: str, amount_fen: int,
                      at: str) -> dict:
        """Applied exactly once per (terminal, txn): the same pair answers the first outcome
        (``charged`` with the balance after it, or ``refused`` with the reason)."""
        rules.check_amount(amount_fen, rules.MAX_LIMIT_FEN)   # no guardian may allow more in one payment
        req = WalletChargeV1(terminal_id=terminal_id, terminal_txn_id=terminal_txn_id, student_id=student_id,
                             amount_fen=amount_fen, at=at)
        terminal = wallet_store.terminal(self.db, req.terminal_id)
        return wallet_store.charge(self.db, terminal, req.terminal_txn_id, req.student_id, req.amount_fen, req.at)

    @rpc
    def wallet_refund(self, terminal_id: str, terminal_txn_id: str, original_txn_id: str, amount_fen: int) -> dict:
        """Back to the wallet, at most what is left of that terminal's charge ``original_txn_id``."""
        rules.check_amount(amount_fen, rules.MAX_LIMIT_FEN)   # no guardian may allow more in one payment
        req = WalletRefundV1(terminal_id=terminal_id, terminal_txn_id=terminal_txn_id,
                             original_txn_id=original_txn_id, amount_fen=amount_fen)
        terminal = wallet_store.terminal(self.db, req.terminal_id)
        return wallet_store.refund(self.db, terminal, req.terminal_txn_id, req.original_txn_id, req.amount_fen)

    @rpc
    def wallet_set_limits(self, guardian_id: str, student_id: str, per_payment_fen: int | None,
                          daily_fen: int | None) -> dict:
        """``None`` lifts a limit."""
        per_payment, daily = rules.check_limits(per_payment_fen, daily_fen)
        req = WalletLimitsV1(guardian_id=guardian_id, student_id=student_id, per_payment_fen=per_payment,
                             daily_fen=daily)
        wallet_store.require_guardian(self.db, req.guardian_id, req.student_id)
        return wallet_store.set_limits(self.db, req.student_id, per_payment, daily)

    @rpc
    def wallet_freeze(self, guardian_id: str, student_id: str) -> dict:
        return self._set_frozen(guardian_id, student_id, True)

    @rpc
    def wallet_unfreeze(self, guardian_id: str, student_id: str) -> dict:
        return self._set_frozen(guardian_id, student_id, False)

    def _set_frozen(self, guardian_id, student_id, frozen: bool) -> dict:
        gid, sid = rules.check_ref(guardian_id, "guardian_id"), rules.check_ref(student_id, "student_id")
        wallet_store.require_guardian(self.db, gid, sid)
        return wallet_store.set_frozen(self.db, sid, frozen)

    @rpc
    def wallet_set_low_balance_threshold(self, guardian_id: str, student_id: str, threshold_fen: int) -> dict:
        threshold = rules.check_threshold(threshold_fen)
        gid, sid = rules.check_ref(guardian_id, "guardian_id"), rules.check_ref(student_id, "student_id")
        wallet_store.require_guardian(self.db, gid, sid)
        return wallet_store.set_threshold(self.db, sid, threshold)

    @rpc
    def wallet_statement(self, actor_resident_id: str, student_id: str, month: str) -> dict:
        """Opening balance, movements and closing balance of ``month`` (YYYY-MM, China time),
        for a guardian of the student."""
        month = rules.check_month(month)
        gid, sid = rules.check_ref(actor_resident_id, "actor_resident_id"), rules.check_ref(student_id, "student_id")
        wallet_store.require_guardian(self.db, gid, sid)
        return wallet_store.statement(self.db, sid, month)

    @rpc
    def wallet_for_students(self, student_ids: list[str], movements: int = 5) -> dict:
        """Batch read for the gateway: {student_id: {balance_fen, frozen, limits, recent, ...}
        or None} in one call."""
        return wallets(self.db, student_ids, movements)

    @timer(interval=SWEEP_SECONDS)
    def wallet_complete_parked_entries(self) -> None:
        """Writes ledger entries a crash left parked in a wallet whose caller never came back."""
        try:
            wallet_store.complete_all(self.db)
        except pymongo.errors.PyMongoError as exc:  # store away: the next sweep tries again
            log.warning("wallet sweep: %s", exc)
