"""The wallet's pure rules: amounts in whole fen, limits, refunds, the low-balance crossing."""
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from contracts.rpc.wallet import WalletChargeV2, WalletPaymentOrderV1
from services.elearning import terminals
from services.common.errors import BadInput, Conflict, Forbidden
from services.elearning import wallet as rules

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=timezone.utc)  # 12:00 in Beijing
STAMP = NOW.isoformat()


@pytest.mark.parametrize("bad", [-1, 0, 1.5, 100.0, "100", True, False, None, [100], 100_001])
def test_top_up_amounts_refused(bad):
    with pytest.raises(BadInput):
        rules.check_top_up(bad)


@pytest.mark.parametrize("good", [1, 2_000, 100_000])
def test_top_up_amounts_accepted(good):
    assert rules.check_top_up(good) == good


@pytest.mark.parametrize("bad", [-5, 0, 1.5, "100", True])
def test_charge_amounts_refused(bad):
    with pytest.raises(BadInput):
        rules.check_amount(bad)


def test_contract_models_refuse_floats_strings_and_booleans():
    base = {"guardian_id": "g1", "student_id": "s1"}
    for bad in (1.5, "100", True):
        with pytest.raises(ValidationError):
            WalletPaymentOrderV1(**base, amount_fen=bad)
    with pytest.raises(ValidationError):  # a transaction id with the key separator
        WalletChargeV2(terminal_id="t1", terminal_txn_id="a|b", student_id="s1", amount_fen=1, at=NOW, sent_at=NOW)
    with pytest.raises(ValidationError):  # a terminal's clock without a zone
        WalletChargeV2(terminal_id="t1", terminal_txn_id="x", student_id="s1", amount_fen=1,
                       at="2026-11-25T12:00:00", sent_at=NOW)


def test_a_signature_covers_every_field_in_its_place():
    key = terminals.new_key()
    request = {"terminal_id": "t1", "sent_at": STAMP, "terminal_txn_id": "x", "amount_fen": 100, "student_id": "s1",
               "at": STAMP}
    signed = terminals.sign(key, terminals.CHARGE, request)
    now = NOW
    terminals.check_signed({"key": key}, terminals.CHARGE, request, signed, now)
    for field in request:
        changed = {**request, field: request[field] * 2 if field == "amount_fen" else request[field] + "0"}
        with pytest.raises(Forbidden):
            terminals.check_signed({"key": key}, terminals.CHARGE, changed, signed, now)
    # the same values signed as a refund are not a charge; a revoked terminal signs nothing
    assert terminals.canonical(terminals.CHARGE, request) != terminals.canonical(
        terminals.REFUND, {**request, "original_txn_id": "x"})
    for terminal in (None, {"key": None, "revoked_at": STAMP}, {"key": key, "revoked_at": STAMP}):
        with pytest.raises(Forbidden):
            terminals.check_signed(terminal, terminals.CHARGE, request, signed, now)


def test_ids():
    assert rules.check_id("canteen-01:POS.2") == "canteen-01:POS.2"
    for bad in ("", "a|b", "a b", "x" * 65, 12, None):
        with pytest.raises(BadInput):
            rules.check_id(bad)
    assert rules.check_ref("学生 0001/甲") == "学生 0001/甲"  # roster sourcedIds are freer
    for bad in ("", "a,b", "a\nb", "x" * 129, 3):
        with pytest.raises(BadInput):
            rules.check_ref(bad)


def test_keys_cannot_collide_across_students_or_links():
    assert rules.ledger_prefix("a") != rules.ledger_prefix("a|2")
    assert len(rules.ledger_prefix("a")) == len(rules.ledger_prefix("学生" * 40))
    assert rules.guardian_link_id("a|b", "c") != rules.guardian_link_id("a", "b|c")
    assert "." not in rules.field_key(rules.charge_key("t.1", "x.2"))
    assert rules.charge_key("t1", "x") != rules.refund_key("t1", "x")


def test_limits():
    assert rules.check_limits(500, 1500) == (500, 1500)
    assert rules.check_limits(None, None) == (None, None)
    assert rules.check_limits(500, None) == (500, None)
    for bad in [(0, 100), (1.5, 100), (100, "200"), (True, 100), (200, 100), (100, 100_001)]:
        with pytest.raises(BadInput):
            rules.check_limits(*bad)


def decide(**kw):
    state = dict(amount=500, balance=10_000, frozen=False, per_payment=None, daily=None, spent_today=0)
    return rules.decide_charge(**{**state, **kw})


def test_decide_charge():
    assert decide() is None
    assert decide(frozen=True).reason == rules.FROZEN
    assert decide(per_payment=499) == rules.Refusal(rules.PER_PAYMENT, 499)
    assert decide(per_payment=500) is None
    assert decide(daily=1000, spent_today=501) == rules.Refusal(rules.DAILY, 1000)
    assert decide(daily=1000, spent_today=500) is None
    assert decide(balance=499) == rules.Refusal(rules.INSUFFICIENT, 499)
    assert decide(balance=500) is None  # down to exactly zero, never below
    # frozen wins over every other reason; limits are reported before the balance
    assert decide(frozen=True, balance=0).reason == rules.FROZEN
    assert decide(per_payment=100, balance=0).reason == rules.PER_PAYMENT


def test_refunds_never_exceed_the_charge():
    assert rules.refundable(1000, 0, 400) == 400
    assert rules.refundable(1000, 400, 600) == 1000
    with pytest.raises(Conflict):
        rules.refundable(1000, 400, 601)


def test_low_balance_once_per_crossing():
    assert rules.low_balance(2500, 2000, was_low=False) == (False, False)
    assert rules.low_balance(1999, 2000, was_low=False) == (True, True)   # crossing: notice
    assert rules.low_balance(1500, 2000, was_low=True) == (True, False)   # still low: no second notice
    assert rules.low_balance(2000, 2000, was_low=True) == (False, False)  # re-armed
    assert rules.low_balance(10, 2000, was_low=False) == (True, True)


def test_charge_time_window():
    assert rules.check_charge_time(NOW - timedelta(days=6), NOW)
    for bad in (NOW + timedelta(minutes=10), NOW - timedelta(days=8)):
        with pytest.raises(BadInput):
            rules.check_charge_time(bad, NOW)


def test_days_and_months_are_beijing_time():
    late = datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc)  # 1 December, 01:00 in Beijing
    assert rules.local_day(late) == "2026-12-01"
    assert rules.local_month(late) == "2026-12"
    assert rules.booking_month(NOW, "2026-12") == "2026-12"  # never before the last movement's month
    assert rules.booking_month(NOW, None) == "2026-11"
    days = [f"2026-11-{d:02d}" for d in range(10, 26)]
    assert rules.days_to_forget(days, "2026-11-25") == [f"2026-11-{d:02d}" for d in range(10, 18)]
    for bad in ("2026-13", "2026-1", "26-11", None, "2026-11-01"):
        with pytest.raises(BadInput):
            rules.check_month(bad)


def test_only_written_keys_are_forgotten():
    applied = {f"k{i}": {"seq": i} for i in range(10)}
    assert rules.keys_to_forget(applied, [], keep=10) == []
    assert rules.keys_to_forget(applied, [], keep=7) == ["k0", "k1", "k2"]
    assert rules.keys_to_forget(applied, ["k1"], keep=7) == ["k0", "k2"]  # k1's entry is not written yet


def test_statement_from_opening_and_entries():
    entries = [{"kind": "top_up", "amount_fen": 5000}, {"kind": "charge", "amount_fen": -1200},
               {"kind": "refund", "amount_fen": 200}]
    got = rules.statement("2026-11", 300, entries)
    assert got["opening_balance_fen"] == 300 and got["closing_balance_fen"] == 4300
    assert got["totals_fen"] == {"top_up": 5000, "charge": 1200, "refund": 200}
