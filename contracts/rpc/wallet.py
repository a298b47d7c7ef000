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


class WalletTerminalV1(BaseModel):
    """``elearning.wallet_register_terminal(terminal_id, school_id, kind)``."""

    NAME: ClassVar[str] = "elearning.wallet_terminal"
    model_config = ConfigDict(extra="forbid")

    terminal_id: WalletId
    school_id: RosterId
    kind: Literal["canteen", "shop", "other"]


class WalletTopUpV1(BaseModel):
    """``elearning.wallet_top_up(guardian_id, student_id, amount_fen, payment_ref)``."""

    NAME: ClassVar[str] = "elearning.wallet_top_up"
    model_config = ConfigDict(extra="forbid")

    guardian_id: RosterId
    student_id: RosterId
    amount_fen: StrictInt
    payment_ref: WalletId


class WalletChargeV1(BaseModel):
    """``elearning.wallet_charge(terminal_id, terminal_txn_id, student_id, amount_fen, at)``."""

    NAME: ClassVar[str] = "elearning.wallet_charge"
    model_config = ConfigDict(extra="forbid")

    terminal_id: WalletId
    terminal_txn_id: WalletId
    student_id: RosterId
    amount_fen: StrictInt
    at: AwareDatetime


class WalletRefundV1(BaseModel):
    """``elearning.wallet_refund(terminal_id, terminal_txn_id, original_txn_id, amount_fen)``:
    the original is that terminal's charge ``original_txn_id``."""

    NAME: ClassVar[str] = "elearning.wallet_refund"
    model_config = ConfigDict(extra="forbid")

    terminal_id: WalletId
    terminal_txn_id: WalletId
    original_txn_id: WalletId
    amount_fen: StrictInt


class WalletLimitsV1(BaseModel):
    """``elearning.wallet_set_limits(guardian_id, student_id, per_payment_fen, daily_fen)``:
    ``None`` lifts a limit."""

    NAME: ClassVar[str] = "elearning.wallet_limits"
    model_config = ConfigDict(extra="forbid")

    guardian_id: RosterId
    student_id: RosterId
    per_payment_fen: StrictInt | None
    daily_fen: StrictInt | None
