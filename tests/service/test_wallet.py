"""The e-schoolbag wallet (一机通) with the real store and broker: paid orders credited once,
signed charges exactly once per (terminal, txn), limits, freezing, refunds, statements, and
no overdraft or lost charge under concurrent terminals. (What is refused at the doors —
forged, replayed, stale requests, bad notifications — is in test_wallet_doors.py.)"""
import json
import uuid
from datetime import timedelta

import eventlet
import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy

from services.common import clock
from services.common.storage import ensure_indexes
from infra import school_terminals
from services.elearning import terminals
from services.elearning import wallet as rules
from services.elearning import wallet_store
from services.elearning.service import ElearningService
from support import bind_probe_queue, drain, wait_for
from support import wallet as money


class Elearning:
    """The elearning RPC proxy, and the service's HTTP address (terminals, the payment provider)."""

    def __init__(self, proxy, url):
        self.proxy, self.url = proxy, url

    def __getattr__(self, name):
        return getattr(self.proxy, name)


@pytest.fixture
def wallet(start_service, rpc, db):
    container = start_service(ElearningService)
    yield Elearning(rpc.elearning, money.elearning_url(container))
    money.check_ledgers(db("elearning"))


def uid(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def now_iso(**delta):
    return (clock.now() + timedelta(**delta)).isoformat()


class School:
    """A school with a canteen and a shop (each with its key), one student and their guardian."""

    def __init__(self, elearning, balance=0):
        self.rpc, self.url = elearning, elearning.url
        self.school, self.student, self.guardian = uid("sch"), uid("stu"), uuid.uuid4().hex
        self.canteen, self.shop = uid("canteen"), uid("shop")
        self.keys = {}
        for terminal, kind in ((self.canteen, "canteen"), (self.shop, "shop")):
            self.keys[terminal] = terminals.new_key()
            elearning.wallet_register_terminal(terminal, self.school, kind, self.keys[terminal])
        elearning.wallet_link_guardian(self.student, self.guardian, self.school)
        if balance:
            self.top_up(balance)

    def top_up(self, amount):
        """A guardian's order for ``amount``, paid (the provider's notification over HTTP)."""
        return money.pay(self.rpc, self.url, self.guardian, self.student, amount)

    def charge(self, amount, txn=None, terminal=None, at=None):
        terminal = terminal or self.canteen
        request, signature = school_terminals.signed_charge(terminal, self.keys.get(terminal, terminals.new_key()),
                                                            self.student, amount, txn or uid("txn"), at or now_iso())
        return self.rpc.wallet_charge(request, signature)

    def refund(self, txn, original, amount, terminal=None):
        terminal = terminal or self.canteen
        return self.rpc.wallet_refund(*school_terminals.signed_refund(terminal, self.keys[terminal], original, amount,
                                                                      txn))

    def balance(self):
        return self.rpc.wallet_for_students([self.student])[self.student]["balance_fen"]


def remote_error(call, *args) -> str:
    with pytest.raises(RemoteError) as err:
        call(*args)
    return err.value.exc_type


def ledger(db, student):
    wallet_store.complete(db("elearning"), db("elearning")[wallet_store.WALLETS].find_one({"_id": student}))
    return list(db("elearning")[wallet_store.LEDGER].find({"student_id": student}))


def test_a_paid_order_is_credited_once(wallet, db):
    s = School(wallet)
    order = wallet.wallet_create_payment_order(s.guardian, s.student, 5000)
    assert (order["status"], order["amount_fen"], order["student_id"]) == ("pending", 5000, s.student)
    assert s.balance() == 0   # an order is not money
    paid = money.notice(order, provider_ref="wx-0001")
    status, first = money.notify(s.url, paid)
    assert status == 200 and first["status"] == "topped_up" and first["balance_fen"] == 5000
    assert first["duplicate"] is False and first["order_id"] == order["order_id"]
    status, again = money.notify(s.url, paid)   # the provider notifies again: OK, nothing more
    assert status == 200 and again == {**first, "duplicate": True}
    assert s.balance() == 5000
    [entry] = ledger(db, s.student)
    assert (entry["_id"], entry["source"], entry["payment_ref"], entry["guardian_id"]) == \
        (f"topup|order|{order['order_id']}", "payment", "wx-0001", s.guardian)
    stored = db("elearning")[wallet_store.ORDERS].find_one({"_id": order["order_id"]})
    assert (stored["status"], stored["provider_ref"]) == ("paid", "wx-0001")
    for bad in (0, -100, 1.5, "100", True, 100_001):
        assert remote_error(wallet.wallet_create_payment_order, s.guardian, s.student, bad) == "BadInput"
    stranger = uuid.uuid4().hex
    assert remote_error(wallet.wallet_create_payment_order, stranger, s.student, 100) == "Forbidden"
    assert not hasattr(ElearningService, "wallet_top_up")   # the free-form top-up is gone
    assert s.balance() == 5000


def test_charge_is_applied_once_however_often_it_is_sent(wallet, db, settings):
    s = School(wallet, balance=5000)
    probe = bind_probe_queue(settings.amqp_uri, "elearning.events", "cn.elearning.wallet.charged.v1")
    answers = [s.charge(1250, txn="pos-77") for _ in range(3)]
    assert answers[0]["status"] == "charged" and answers[0]["balance_fen"] == 3750
    assert answers[1] == answers[2] == {**answers[0], "duplicate": True}
    assert s.balance() == 3750
    charges = [e for e in ledger(db, s.student) if e["kind"] == "charge"]
    assert [(e["_id"], e["amount_fen"]) for e in charges] == [(f"charge|{s.canteen}|pos-77", -1250)]
    [published] = drain(settings.amqp_uri, probe)
    data = json.loads(published.body)["data"]
    assert (data["terminal_txn_id"], data["amount_fen"], data["balance_fen"]) == ("pos-77", 1250, 3750)
    eventlet.sleep(0.3)
    assert drain(settings.amqp_uri, probe, expect=0) == []  # and only once
    # the same transaction id from the shop is the shop's own transaction
    assert s.charge(250, txn="pos-77", terminal=s.shop)["duplicate"] is False
    # the same (terminal, txn) for another amount is refused as a conflict
    assert remote_error(s.charge, 999, "pos-77") == "Conflict"


def test_over_balance_is_refused_and_recorded_not_booked(wallet, db, settings):
    s = School(wallet, balance=1000)
    probe = bind_probe_queue(settings.amqp_uri, "elearning.events", "cn.elearning.wallet.limit_refused.v1")
    refused = s.charge(1500, txn="t-1")
    assert refused["status"] == "refused" and refused["reason"] == "insufficient_balance"
    assert s.balance() == 1000
    assert [e["kind"] for e in ledger(db, s.student)] == ["top_up"]  # a refusal is not a movement
    assert db("elearning")[wallet_store.REFUSALS].find_one({"_id": f"charge|{s.canteen}|t-1"})["reason"] == \
        "insufficient_balance"
    [event] = drain(settings.amqp_uri, probe)
    assert json.loads(event.body)["data"]["reason"] == "insufficient_balance"
    # the terminal asking again gets the original outcome, even after a top-up
    s.top_up(5000)
    assert s.charge(1500, txn="t-1") == {**refused, "duplicate": True}
    assert s.balance() == 6000
    assert s.charge(6000)["balance_fen"] == 0  # down to zero, never below
    assert s.charge(1)["reason"] == "insufficient_balance"
    for huge in (rules.MAX_LIMIT_FEN + 1, 2 ** 63):   # more than any guardian may allow; 2**63 overflowed the store
        with pytest.raises(RemoteError) as err:
            s.charge(huge, txn=f"t-huge-{huge}")
        assert err.value.exc_type == "BadInput"
    assert [e["kind"] for e in ledger(db, s.student)] == ["top_up", "top_up", "charge"]


def test_per_payment_and_daily_limits(wallet):
    s = School(wallet, balance=10_000)
    limits = wallet.wallet_set_limits(s.guardian, s.student, 1000, 1500)
    assert limits["limits"] == {"per_payment_fen": 1000, "daily_fen": 1500}
    over = s.charge(1200)
    assert (over["status"], over["reason"], over["limit_fen"]) == ("refused", "per_payment_limit", 1000)
    assert s.charge(800)["status"] == "charged"
    daily = s.charge(800)
    assert (daily["reason"], daily["limit_fen"]) == ("daily_limit", 1500)
    assert s.charge(700)["status"] == "charged"  # 1500 exactly
    # yesterday (the terminal was offline) has its own daily allowance
    assert s.charge(900, at=now_iso(days=-1))["status"] == "charged"
    assert s.balance() == 10_000 - 800 - 700 - 900
    assert wallet.wallet_for_students([s.student])[s.student]["spent_today_fen"] == 1500
    assert remote_error(wallet.wallet_set_limits, s.guardian, s.student, 2000, 1000) == "BadInput"
    assert remote_error(wallet.wallet_set_limits, s.guardian, s.student, 1.5, None) == "BadInput"
    assert remote_error(wallet.wallet_set_limits, uuid.uuid4().hex, s.student, 100, 200) == "Forbidden"
    wallet.wallet_set_limits(s.guardian, s.student, None, None)  # lifted
    assert s.charge(3000)["status"] == "charged"
    assert remote_error(s.charge, 100, None, None, now_iso(days=-9)) == "BadInput"  # too old to settle here


def test_frozen_wallet_refuses_charges_until_unfrozen(wallet):
    s = School(wallet, balance=3000)
    assert wallet.wallet_freeze(s.guardian, s.student)["frozen"] is True
    assert s.charge(100)["reason"] == "frozen"
    assert s.top_up(100)["status"] == "topped_up"  # money can still come in
    assert remote_error(wallet.wallet_unfreeze, uuid.uuid4().hex, s.student) == "Forbidden"
    assert wallet.wallet_unfreeze(s.guardian, s.student)["frozen"] is False
    assert s.charge(100)["balance_fen"] == 3000


def test_refunds_never_exceed_the_charge(wallet, db):
    s = School(wallet, balance=5000)
    s.charge(1000, txn="lunch-1")
    first = s.refund("ref-1", "lunch-1", 600)
    assert (first["status"], first["balance_fen"], first["original_entry_id"]) == \
        ("refunded", 4600, f"charge|{s.canteen}|lunch-1")
    assert s.refund("ref-1", "lunch-1", 600)["duplicate"] is True
    assert remote_error(s.refund, "ref-2", "lunch-1", 401) == "Conflict"
    assert s.refund("ref-2", "lunch-1", 400)["balance_fen"] == 5000
    assert remote_error(s.refund, "ref-3", "lunch-1", 1) == "Conflict"
    assert remote_error(s.refund, "ref-4", "no-such-txn", 1) == "NotFound"
    assert remote_error(s.refund, "ref-5", "lunch-1", 1, s.shop) == "NotFound"  # not the shop's charge
    assert remote_error(s.refund, "ref-6", "lunch-1", 0) == "BadInput"
    entries = ledger(db, s.student)
    assert sorted(e["amount_fen"] for e in entries) == [-1000, 400, 600, 5000]
    assert s.balance() == sum(e["amount_fen"] for e in entries) == 5000


def test_terminals_of_another_school_and_unknown_terminals_are_refused(wallet):
    s, other = School(wallet, balance=5000), School(wallet)
    s.keys[other.canteen] = other.keys[other.canteen]   # well signed, but by another school's terminal
    assert remote_error(s.charge, 100, None, other.canteen) == "Forbidden"
    assert remote_error(s.charge, 100, None, uid("rogue")) == "Forbidden"
    key = terminals.new_key()
    assert remote_error(wallet.wallet_register_terminal, s.canteen, other.school, "canteen", key) == "Conflict"
    assert remote_error(wallet.wallet_register_terminal, s.canteen, s.school, "canteen", key) == "Conflict"
    assert remote_error(wallet.wallet_register_terminal, uid("t"), s.school, "casino", key) == "BadInput"
    assert remote_error(wallet.wallet_register_terminal, uid("t"), s.school, "shop", "short") == "BadInput"
    assert remote_error(wallet.wallet_charge, *school_terminals.signed_charge(
        s.canteen, s.keys[s.canteen], uid("nobody"), 100)) == "NotFound"
    assert s.balance() == 5000


def test_low_balance_is_published_once_per_crossing(wallet, settings):
    s = School(wallet, balance=3000)
    probe = bind_probe_queue(settings.amqp_uri, "elearning.events", "cn.elearning.wallet.low_balance.v1")
    s.charge(500)                       # 2500
    crossing = s.charge(600)            # 1900: below 2000
    s.charge(100)                       # still low: nothing more
    s.top_up(1000)                      # 2800: re-armed
    again = s.charge(1000)              # 1800: a second crossing
    events = [json.loads(m.body)["data"] for m in drain(settings.amqp_uri, probe, expect=2)]
    assert [(e["balance_fen"], e["entry_id"]) for e in events] == [(1900, crossing["entry_id"]),
                                                                   (1800, again["entry_id"])]
    eventlet.sleep(0.3)
    assert drain(settings.amqp_uri, probe, expect=0) == []
    view = wallet.wallet_set_low_balance_threshold(s.guardian, s.student, 500)
    assert (view["low_balance_threshold_fen"], view["low_balance"]) == (500, False)


def test_monthly_statement_for_the_guardian_only(wallet):
    s = School(wallet)
    s.top_up(5000)
    lunch = s.charge(1200, txn="lunch")
    s.refund("lunch-back", "lunch", 200)
    s.charge(300, terminal=s.shop)
    month = rules.local_month(clock.now())
    st = wallet.wallet_statement(s.guardian, s.student, month)
    assert (st["opening_balance_fen"], st["closing_balance_fen"]) == (0, 3700)
    assert [(m["kind"], m["amount_fen"], m["balance_after_fen"]) for m in st["movements"]] == [
        ("top_up", 5000, 5000), ("charge", -1200, 3800), ("refund", 200, 4000), ("charge", -300, 3700)]
    assert st["movements"][1]["entry_id"] == lunch["entry_id"] and st["movements"][1]["terminal_id"] == s.canteen
    assert st["totals_fen"] == {"top_up": 5000, "charge": 1500, "refund": 200}
    before = wallet.wallet_statement(s.guardian, s.student, "2020-01")
    assert (before["opening_balance_fen"], before["closing_balance_fen"], before["movements"]) == (0, 0, [])
    after = wallet.wallet_statement(s.guardian, s.student, "2099-12")
    assert (after["opening_balance_fen"], after["closing_balance_fen"]) == (3700, 3700)
    # a guardian sees only their own children
    other = School(wallet)
    assert remote_error(wallet.wallet_statement, other.guardian, s.student, month) == "Forbidden"
    assert remote_error(wallet.wallet_statement, s.guardian, s.student, "2026-13") == "BadInput"
    assert wallet.wallet_unlink_guardian(s.student, s.guardian) is True
    assert remote_error(wallet.wallet_statement, s.guardian, s.student, month) == "Forbidden"


def test_batch_read_for_the_gateway(wallet):
    a, b = School(wallet, balance=3000), School(wallet, balance=800)
    a.charge(450)
    wallet.wallet_freeze(b.guardian, b.student)
    got = wallet.wallet_for_students([a.student, b.student, "nobody"])
    assert got["nobody"] is None
    assert (got[a.student]["balance_fen"], got[a.student]["frozen"]) == (2550, False)
    assert [m["kind"] for m in got[a.student]["recent"]] == ["charge", "top_up"]  # newest first
    assert (got[b.student]["balance_fen"], got[b.student]["frozen"], got[b.student]["low_balance"]) == (800, True, True)
    assert remote_error(wallet.wallet_for_students, "not-a-list") == "BadInput"


def test_twenty_terminals_at_once_never_overdraw_lose_or_double(service_process, settings, db):
    # two service processes competing for the queue (each with its own store connections and
    # its own memory: nothing of one process keeps them apart), twenty callers each with its own proxy
    a = service_process("elearning", "elearning-a")
    service_process("elearning", "elearning-b")
    with ClusterRpcProxy({"AMQP_URI": settings.amqp_uri}, timeout=30) as proxy:
        s = School(Elearning(proxy.elearning, a.health_url.split("/health")[0]), balance=10_000)
    initial = 10_000
    amounts = {f"txn-{i:02d}": 300 + 37 * i for i in range(24)}  # 24 distinct charges, 20,412 fen > balance
    requests = [(txn, a) for txn, a in amounts.items()] + [(f"txn-{i:02d}", amounts[f"txn-{i:02d}"])
                                                          for i in (0, 3, 5, 8, 13, 21, 23, 3)]  # duplicates
    chunks = [requests[i::20] for i in range(20)]

    def terminal(chunk):
        with ClusterRpcProxy({"AMQP_URI": settings.amqp_uri}, timeout=30) as p:
            return [(txn, p.elearning.wallet_charge(*school_terminals.signed_charge(
                s.canteen, s.keys[s.canteen], s.student, amount, txn))) for txn, amount in chunk]

    answers = [a for got in eventlet.GreenPool(20).imap(terminal, chunks) for a in got]
    assert len(answers) == len(requests)
    by_txn: dict = {}
    for txn, answer in answers:
        by_txn.setdefault(txn, []).append(answer)
    for txn, same in by_txn.items():  # every copy of a transaction got the one outcome
        assert len({(a["status"], a.get("balance_fen")) for a in same}) == 1, (txn, same)
        assert sum(not a["duplicate"] for a in same) == 1, (txn, same)
    charged = {txn for txn, same in by_txn.items() if same[0]["status"] == "charged"}
    assert charged and len(charged) < len(amounts)  # some went through, the rest found no money

    entries = ledger(db, s.student)
    charges = [e for e in entries if e["kind"] == "charge"]
    final = db("elearning")[wallet_store.WALLETS].find_one({"_id": s.student})["balance"]
    assert final >= 0
    assert sorted(e["terminal_txn_id"] for e in charges) == sorted(charged)  # none lost, none doubled
    assert -sum(e["amount_fen"] for e in charges) == initial - final == sum(amounts[t] for t in charged)
    assert sum(e["amount_fen"] for e in entries) == final
    refused = {txn for txn, same in by_txn.items() if same[0]["status"] == "refused"}
    assert all(amounts[t] > by_txn[t][0]["limit_fen"] for t in refused)  # refused only for want of money
    assert len({e["seq"] for e in entries}) == len(entries)
    assert money.check_ledgers(db("elearning")) >= 1


# --- the store directly: crash between the two writes, and contention without RPC -----

@pytest.fixture
def store(db):
    database = db("wallettest")
    ensure_indexes(database, wallet_store.INDEXES)
    return database


def setup_wallet(store, balance):
    school, student = uid("sch"), uid("stu")
    wallet_store.link_guardian(store, student, "g1", school)
    terminal = wallet_store.register_terminal(store, uid("canteen"), school, "canteen", terminals.new_key())
    wallet_store.credit_order(store, wallet_store.create_order(store, "g1", student, balance)["order_id"],
                              uid("wx"), balance)
    return student, terminal


def test_a_crash_between_the_two_writes_is_completed_by_the_retry(store, monkeypatch):
    student, terminal = setup_wallet(store, 5000)
    real = wallet_store._insert_entry

    def crash(*args):
        raise ConnectionError("the worker died here")

    monkeypatch.setattr(wallet_store, "_insert_entry", crash)
    with pytest.raises(ConnectionError):
        wallet_store.charge(store, terminal, "x-1", student, 700, clock.now())
    half = store[wallet_store.WALLETS].find_one({"_id": student})
    assert half["balance"] == 4300 and half["pending_n"] == 1  # applied, entry parked in the wallet
    assert store[wallet_store.LEDGER].find_one({"_id": f"charge|{terminal['_id']}|x-1"}) is None
    seen = wallet_store.audit(store, student)   # a checker sees the parked charge, and changes nothing
    assert (seen["balance"], seen["ledger_sum"], seen["charges"], seen["parked"]) == (4300, 4300, {"x-1": 1}, 1)
    assert seen["terminal_charges"] == {f"{terminal['_id']}|x-1": 1}
    assert store[wallet_store.WALLETS].find_one({"_id": student})["pending_n"] == 1

    monkeypatch.setattr(wallet_store, "_insert_entry", real)
    retry = wallet_store.charge(store, terminal, "x-1", student, 700, clock.now())
    assert (retry["status"], retry["balance_fen"], retry["duplicate"]) == ("charged", 4300, True)
    after = store[wallet_store.WALLETS].find_one({"_id": student})
    assert (after["balance"], after["pending_n"], after["pending"]) == (4300, 0, {})
    assert store[wallet_store.LEDGER].find_one({"_id": f"charge|{terminal['_id']}|x-1"})["amount_fen"] == -700
    assert wallet_store.ledger_sum(store, student) == 4300


def test_a_crash_without_a_retry_is_completed_by_the_sweep(store, monkeypatch):
    student, terminal = setup_wallet(store, 5000)
    real = wallet_store._insert_entry
    monkeypatch.setattr(wallet_store, "_insert_entry", lambda *a: (_ for _ in ()).throw(ConnectionError()))
    with pytest.raises(ConnectionError):
        wallet_store.charge(store, terminal, "x-2", student, 900, clock.now())
    monkeypatch.setattr(wallet_store, "_insert_entry", real)
    assert wallet_store.complete_all(store) >= 1
    assert store[wallet_store.LEDGER].find_one({"_id": f"charge|{terminal['_id']}|x-2"})["balance_after_fen"] == 4100
    assert store[wallet_store.WALLETS].find_one({"_id": student})["pending_n"] == 0


def test_twenty_green_threads_on_the_store(store):
    student, terminal = setup_wallet(store, 6000)
    txns = [(f"g-{i}", 250 + 10 * i) for i in range(30)] + [("g-1", 260), ("g-7", 320), ("g-7", 320)]
    pool = eventlet.GreenPool(20)
    answers = list(pool.imap(lambda t: (t[0], wallet_store.charge(store, terminal, t[0], student, t[1],
                                                                    clock.now())), txns))
    charged = {txn: a for txn, a in answers if a["status"] == "charged" and not a["duplicate"]}
    entries = list(store[wallet_store.LEDGER].find({"student_id": student}))
    final = store[wallet_store.WALLETS].find_one({"_id": student})["balance"]
    assert final >= 0
    refused = [a["amount_fen"] for _, a in answers if a["status"] == "refused"]
    assert refused and all(amount > final for amount in refused)  # refused only for want of money
    assert sorted(e["terminal_txn_id"] for e in entries if e["kind"] == "charge") == sorted(charged)
    assert sum(e["amount_fen"] for e in entries) == final == 6000 - sum(a["amount_fen"] for a in charged.values())
    wait_for(lambda: store[wallet_store.WALLETS].find_one({"_id": student})["pending_n"] == 0, timeout=2)
