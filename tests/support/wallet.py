"""Money in tests: the payment provider's key the test services run with, a paid order
(the provider's signed notification over HTTP), a staff top-up, and the ledger check that
every test touching money runs over every wallet of the database."""
from __future__ import annotations

import uuid

from infra import school_terminals
from services.elearning import payments, wallet_store

PAYMENT_KEY = "test-provider-key-" + uuid.uuid4().hex   # tests/conftest.py gives it to elearning


def elearning_url(container) -> str:
    return "http://" + container.config["WEB_SERVER_ADDRESS"]


def notice(order: dict, provider_ref: str | None = None, amount: int | None = None) -> dict:
    return {"order_id": order["order_id"], "provider_ref": provider_ref or "wx" + uuid.uuid4().hex[:16],
            "amount_fen": order["amount_fen"] if amount is None else amount, "status": "paid",
            "paid_at": "2026-11-25T12:00:00+08:00"}


def notify(base_url: str, body: dict, signature: str | None = None) -> tuple[int, dict]:
    """POST the provider's notification, signed with the test key unless ``signature`` is given."""
    headers = {"X-Payment-Signature": signature if signature is not None else payments.sign(PAYMENT_KEY, body)}
    return school_terminals.post(base_url.rstrip("/") + "/wallet/v1/payments/notify", body, headers)


def pay(rpc_elearning, base_url: str, guardian: str, student: str, amount: int) -> dict:
    """A guardian's order, paid: the provider's answer (the top-up's outcome)."""
    order = rpc_elearning.wallet_create_payment_order(guardian, student, amount)
    status, answer = notify(base_url, notice(order))
    assert status == 200, answer
    return answer


def staff_top_up(rpc_elearning, teacher: str, student: str, amount: int) -> dict:
    return rpc_elearning.wallet_staff_top_up({"role": "teacher", "id": teacher}, student, amount,
                                            "现金充值（学校财务室）", uuid.uuid4().hex[:16])


def check_ledgers(database) -> int:
    """The ledger check over every wallet: balance = the sum of its entries, never negative,
    each terminal transaction charged at most once. How many wallets were checked."""
    n = 0
    for w in database[wallet_store.WALLETS].find({}, {"_id": 1}):
        seen = wallet_store.audit(database, w["_id"])
        assert seen["balance"] == seen["ledger_sum"] >= 0, (w["_id"], seen)
        assert all(count == 1 for count in seen["terminal_charges"].values()), (w["_id"], seen)
        n += 1
    return n
