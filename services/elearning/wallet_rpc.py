"""The e-schoolbag wallet's nameko entrypoints (a mixin of ElearningService): payloads are
checked against ``contracts.rpc.wallet`` and the rules of ``wallet``, ``terminals`` and
``payments``, then handed to ``wallet_store``. Refused charges are answers (``status:
"refused"``), not errors: the terminal gets the same answer for the same transaction however
often it asks. A terminal's request counts only when signed with its key; money comes in
only from a paid order or from school staff with a reason (``payments``). The terminals'
and the payment provider's HTTP doors (``wallet_http``) call the same functions."""
from __future__ import annotations

import logging

import pymongo
from nameko.timer import timer

from contracts.rpc.wallet import (WalletChargeV2, WalletLimitsV1, WalletPaymentNoticeV1, WalletPaymentOrderV1,
                                  WalletRefundV2, WalletStaffTopUpV1, WalletTerminalV2)
from services.common import clock
from services.common.arguments import batch
from services.common.config import option
from services.common.errors import BadInput, Forbidden
from services.common.rpc import rpc
from services.elearning import payments, schoolbag, terminals
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


def _checked(model, payload) -> object:
    if not isinstance(payload, dict):
        raise BadInput("the request is a JSON object")
    return model.model_validate(payload)


def terminal_charge(db, request: dict, signature) -> dict:
    """A terminal's signed charge, applied exactly once per (terminal, txn)."""
    req = _checked(WalletChargeV2, request)
    rules.check_amount(req.amount_fen, rules.MAX_LIMIT_FEN)   # no guardian may allow more in one payment
    terminal = wallet_store.find_terminal(db, req.terminal_id)
    terminals.check_signed(terminal, terminals.CHARGE, request, signature, clock.now())
    return wallet_store.charge(db, terminal, req.terminal_txn_id, req.student_id, req.amount_fen, req.at)


def terminal_refund(db, request: dict, signature) -> dict:
    """A terminal's signed refund of its own charge, at most what is left of it."""
    req = _checked(WalletRefundV2, request)
    rules.check_amount(req.amount_fen, rules.MAX_LIMIT_FEN)
    terminal = wallet_store.find_terminal(db, req.terminal_id)
    terminals.check_signed(terminal, terminals.REFUND, request, signature, clock.now())
    return wallet_store.refund(db, terminal, req.terminal_txn_id, req.original_txn_id, req.amount_fen)


def payment_notified(db, provider_key: str, notice: dict, signature) -> dict:
    """The payment provider's signed notification: the order it pays is credited once."""
    n = _checked(WalletPaymentNoticeV1, notice)
    payments.check_notice(provider_key, notice, signature)
    rules.check_top_up(n.amount_fen)
    return wallet_store.credit_order(db, n.order_id, n.provider_ref, n.amount_fen)


class WalletEntrypoints:
    """Terminals, guardians, top-ups, charges, refunds, limits, statements."""

    @rpc
    def wallet_register_terminal(self, terminal_id: str, school_id: str, kind: str, key: str,
                                 replace: bool = False) -> dict:
        """``suite terminal add``: the terminal and its signing key (never answered back)."""
        t = WalletTerminalV2(terminal_id=terminal_id, school_id=school_id, kind=kind, key=key, replace=replace)
        terminals.check_key(t.key)
        doc = wallet_store.register_terminal(self.db, t.terminal_id, t.school_id, t.kind, t.key, t.replace)
        return {"terminal_id": doc["_id"], "school_id": doc["school_id"], "kind": doc["kind"]}

    @rpc
    def wallet_revoke_terminal(self, terminal_id: str) -> bool:
        """``suite terminal revoke``: its key stops working at once; False if there was none."""
        return wallet_store.revoke_terminal(self.db, rules.check_id(terminal_id, "terminal_id"))

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
    def wallet_create_payment_order(self, guardian_id: str, student_id: str, amount_fen: int) -> dict:
        """A guardian asks to top up: an order to pay (pending); the wallet is credited when the
        payment provider notifies the payment (``wallet_http``)."""
        rules.check_top_up(amount_fen)
        req = WalletPaymentOrderV1(guardian_id=guardian_id, student_id=student_id, amount_fen=amount_fen)
        wallet_store.require_guardian(self.db, req.guardian_id, req.student_id)
        return wallet_store.create_order(self.db, req.guardian_id, req.student_id, req.amount_fen)

    def _payment_provider_key(self) -> str:
        return str(option(self.config, "PAYMENT_PROVIDER_KEY", ""))

    @rpc
    def wallet_staff_top_up(self, actor: dict, student_id: str, amount_fen: int, reason: str,
                            request_id: str) -> dict:
        """School staff put money in (cash at the office, a correction), with a reason the ledger
        keeps; idempotent by ``request_id``. ``actor`` is ``{"role": "teacher", "id": <sourcedId>}``,
        a teacher of the student's school in the roster."""
        if not isinstance(actor, dict) or actor.get("role") != "teacher":
            raise Forbidden("only school staff (a teacher of the student's school) may top up by hand")
        rules.check_top_up(amount_fen)
        req = WalletStaffTopUpV1(staff_id=actor.get("id"), student_id=student_id, amount_fen=amount_fen,
                                 reason=payments.check_reason(reason), request_id=request_id)
        school = wallet_store.wallet(self.db, req.student_id)["school_id"]
        if not schoolbag.is_school_staff(self.db, req.staff_id, school):
            raise Forbidden("only school staff (a teacher of the student's school) may top up by hand")
        return wallet_store.staff_top_up(self.db, req.staff_id, req.student_id, req.amount_fen, req.reason,
                                         req.request_id)

    @rpc
    def wallet_charge(self, request: dict, signature: str) -> dict:
        """A terminal's signed charge (``terminal_charge``): applied exactly once per (terminal,
        txn); the same pair answers the first outcome (``charged`` with the balance after it, or
        ``refused`` with the reason)."""
        return terminal_charge(self.db, request, signature)

    @rpc
    def wallet_refund(self, request: dict, signature: str) -> dict:
        """A terminal's signed refund (``terminal_refund``)."""
        return terminal_refund(self.db, request, signature)

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
