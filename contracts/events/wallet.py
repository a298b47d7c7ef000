"""Events of the e-schoolbag small-payment wallet (一机通), published by the elearning service.

Amounts are integer fen (1 yuan = 100 fen), never floats. ``entry_id`` is the ledger
entry's id, derived from the movement's idempotency key (``topup|order|<order_id>``,
``topup|staff|<request_id>``,
``charge|<terminal>|<txn>``, ``refund|<terminal>|<txn>``): a consumer can use it as its
inbox key.
"""
from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Id = Annotated[str, Field(min_length=1, max_length=64)]
RosterId = Annotated[str, Field(min_length=1, max_length=128)]


class WalletToppedUpV2(BaseModel):
    """Money in: a payment order the provider notified as paid (``source`` payment: the
    guardian who ordered it, the order, the provider's reference), or a top-up by school
    staff with its reason (``source`` staff). v1 took any payment reference and is gone."""

    TYPE: ClassVar[str] = "cn.elearning.wallet.topped_up.v2"
    model_config = ConfigDict(extra="forbid")

    student_id: RosterId
    source: Literal["payment", "staff"]
    guardian_id: RosterId | None = None
    order_id: Id | None = None
    payment_ref: Id | None = Field(default=None, description="the payment provider's reference")
    staff_id: RosterId | None = Field(default=None, description="the roster's teacher who topped up")
    reason: str | None = Field(default=None, max_length=200)
    amount_fen: int = Field(gt=0)
    balance_fen: int = Field(ge=0)
    entry_id: str = Field(max_length=200)
    booked_at: AwareDatetime


class WalletChargedV1(BaseModel):
    TYPE: ClassVar[str] = "cn.elearning.wallet.charged.v1"
    model_config = ConfigDict(extra="forbid")

    student_id: RosterId
    school_id: RosterId
    terminal_id: Id
    terminal_txn_id: Id
    amount_fen: int = Field(gt=0)
    balance_fen: int = Field(ge=0)
    entry_id: str = Field(max_length=200)
    at: AwareDatetime = Field(description="when the terminal took the payment")
    booked_at: AwareDatetime


class WalletRefundedV1(BaseModel):
    TYPE: ClassVar[str] = "cn.elearning.wallet.refunded.v1"
    model_config = ConfigDict(extra="forbid")

    student_id: RosterId
    terminal_id: Id
    terminal_txn_id: Id
    original_entry_id: str = Field(max_length=200)
    amount_fen: int = Field(gt=0)
    balance_fen: int = Field(ge=0)
    entry_id: str = Field(max_length=200)
    booked_at: AwareDatetime


class WalletLowBalanceV1(BaseModel):
    """Published once each time the balance crosses below the wallet's threshold."""

    TYPE: ClassVar[str] = "cn.elearning.wallet.low_balance.v1"
    model_config = ConfigDict(extra="forbid")

    student_id: RosterId
    balance_fen: int = Field(ge=0)
    threshold_fen: int = Field(ge=0)
    entry_id: str = Field(max_length=200, description="the movement that crossed the threshold")
    booked_at: AwareDatetime


class WalletLimitRefusedV1(BaseModel):
    """A charge refused (no ledger movement): over a guardian's limit, on a frozen wallet,
    or over the balance."""

    TYPE: ClassVar[str] = "cn.elearning.wallet.limit_refused.v1"
    model_config = ConfigDict(extra="forbid")

    student_id: RosterId
    terminal_id: Id
    terminal_txn_id: Id
    amount_fen: int = Field(gt=0)
    reason: Literal["frozen", "per_payment_limit", "daily_limit", "insufficient_balance"]
    limit_fen: int | None = Field(default=None, description="the limit or balance that refused it")
    at: AwareDatetime
    booked_at: AwareDatetime


WALLET_EVENTS = [WalletToppedUpV2, WalletChargedV1, WalletRefundedV1, WalletLowBalanceV1, WalletLimitRefusedV1]
