"""RPC payloads of the e-schoolbag wallet (elearning service). Amounts are integer fen:
``StrictInt`` refuses floats, strings and booleans; the wallet's rules
(``services.elearning.wallet``) check ranges and limits."""
from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt

# Ids become parts of idempotency keys (``charge|<terminal>|<txn>``): no ``|``, no spaces.
WalletId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
# Students, guardians (residents) and schools as the roster names them (OneRoster sourcedIds).
RosterId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f,]+$")]


# A terminal's signing key (``suite terminal add`` makes it): URL-safe base64 of 32-64 bytes.
TerminalKey = Annotated[str, Field(min_length=43, max_length=86, pattern=r"^[A-Za-z0-9_-]+$")]
Reason = Annotated[str, Field(min_length=4, max_length=200)]


class WalletTerminalV2(BaseModel):
    """``elearning.wallet_register_terminal(terminal_id, school_id, kind, key, replace)``: a school
    terminal and the key it signs its requests with (v1 had no key)."""

    NAME: ClassVar[str] = "elearning.wallet_terminal"
    model_config = ConfigDict(extra="forbid")

    terminal_id: WalletId
    school_id: RosterId
    kind: Literal["canteen", "shop", "other"]
    key: TerminalKey
    replace: bool = False


class WalletPaymentOrderV1(BaseModel):
    """``elearning.wallet_create_payment_order(guardian_id, student_id, amount_fen)``: a guardian
    asks to top up; the answer is an order to pay, not money."""

    NAME: ClassVar[str] = "elearning.wallet_payment_order"
    model_config = ConfigDict(extra="forbid")

    guardian_id: RosterId
    student_id: RosterId
    amount_fen: StrictInt


class WalletPaymentNoticeV1(BaseModel):
    """The payment provider's notification (``POST /wallet/v1/payments/notify`` on the elearning
    port, signed in the header ``X-Payment-Signature``), also ``elearning.wallet_payment_notified``."""

    NAME: ClassVar[str] = "elearning.wallet_payment_notice"
    model_config = ConfigDict(extra="forbid")

    order_id: WalletId
    provider_ref: WalletId
    amount_fen: StrictInt
    status: str = Field(max_length=20)
    paid_at: str = Field(max_length=40)


class WalletStaffTopUpV1(BaseModel):
    """``elearning.wallet_staff_top_up(actor, student_id, amount_fen, reason, request_id)``: school
    staff (a teacher of the student's school in the roster) with a reason the ledger keeps."""

    NAME: ClassVar[str] = "elearning.wallet_staff_top_up"
    model_config = ConfigDict(extra="forbid")

    staff_id: RosterId
    student_id: RosterId
    amount_fen: StrictInt
    reason: Reason
    request_id: WalletId


class WalletChargeV2(BaseModel):
    """A terminal's charge, signed (``services.elearning.terminals``): ``POST /wallet/v1/charges``
    on the elearning port, or ``elearning.wallet_charge(request, signature)``. ``at`` is when the
    payment was taken (an offline terminal's may be days old), ``sent_at`` when it was sent."""

    NAME: ClassVar[str] = "elearning.wallet_charge"
    model_config = ConfigDict(extra="forbid")

    terminal_id: WalletId
    terminal_txn_id: WalletId
    student_id: RosterId
    amount_fen: StrictInt
    at: AwareDatetime
    sent_at: AwareDatetime


class WalletRefundV2(BaseModel):
    """A terminal's refund of its own charge ``original_txn_id``, signed: ``POST /wallet/v1/refunds``
    or ``elearning.wallet_refund(request, signature)``."""

    NAME: ClassVar[str] = "elearning.wallet_refund"
    model_config = ConfigDict(extra="forbid")

    terminal_id: WalletId
    terminal_txn_id: WalletId
    original_txn_id: WalletId
    amount_fen: StrictInt
    sent_at: AwareDatetime


class WalletLimitsV1(BaseModel):
    """``elearning.wallet_set_limits(guardian_id, student_id, per_payment_fen, daily_fen)``:
    ``None`` lifts a limit."""

    NAME: ClassVar[str] = "elearning.wallet_limits"
    model_config = ConfigDict(extra="forbid")

    guardian_id: RosterId
    student_id: RosterId
    per_payment_fen: StrictInt | None
    daily_fen: StrictInt | None
