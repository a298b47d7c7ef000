"""What the wallet refuses at its doors, over real HTTP to a real elearning service (real
broker, real store): forged, replayed, altered and stale terminal requests, unknown and
revoked terminals; unsigned, mis-signed, replayed, mismatched and unknown-order payment
notifications; staff top-ups without a reason or by someone who is not the school's
staff. Each refusal has a clear status and message and leaves the ledger as it was; the
ledger check runs over every wallet after each test."""
import uuid
from datetime import timedelta

import pytest
from nameko.exceptions import RemoteError

from infra import school_terminals
from services.common import clock
from services.elearning import payments, terminals, wallet_store
from services.elearning.service import ElearningService
from support import wallet as money


def uid(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class Till:
    """One school (in the roster, with a teacher), one pupil and guardian, one canteen terminal."""

    def __init__(self, rpc, url, db):
        self.rpc, self.url, self.db = rpc.elearning, url, db
        self.school, self.teacher, self.student, self.guardian = uid("sch"), uid("t"), uid("stu"), uuid.uuid4().hex
        got = self.rpc.roster_import([
            {"kind": "org", "sourced_id": self.school, "name": "梅园小学", "type": "school"},
            {"kind": "teacher", "sourced_id": self.teacher, "name": "王老师", "school_ids": [self.school]}])
        assert got["rejected"] == []
        self.terminal, self.key = uid("canteen"), terminals.new_key()
        self.rpc.wallet_register_terminal(self.terminal, self.school, "canteen", self.key)
        self.rpc.wallet_link_guardian(self.student, self.guardian, self.school)

    def charge(self, request, signature):
        return school_terminals.send(self.url, request, signature)

    def signed(self, amount=300, txn=None, key=None, terminal=None, **changes):
        request, signature = school_terminals.signed_charge(terminal or self.terminal, key or self.key, self.student,
                                                            amount, txn or uid("txn"))
        return {**request, **changes}, signature

    def books(self):
        """What a refusal must leave as it was: the wallet's balance and version, its ledger."""
        w = self.db[wallet_store.WALLETS].find_one({"_id": self.student})
        entries = sorted(e["_id"] for e in self.db[wallet_store.LEDGER].find({"student_id": self.student}))
        return w["balance"], w["version"], entries


@pytest.fixture
def till(start_service, rpc, db):
    container = start_service(ElearningService)
    t = Till(rpc, money.elearning_url(container), db("elearning"))
    money.pay(t.rpc, t.url, t.guardian, t.student, 5000)
    yield t
    money.check_ledgers(db("elearning"))


def refused(status_answer, status, words):
    got, answer = status_answer
    assert got == status and words in answer["message"], (got, answer)
    return answer


def test_terminal_requests_count_only_signed_fresh_and_from_a_live_terminal(till):
    t = till
    request, signature = t.signed(amount=300, txn="pos-1")
    status, first = t.charge(request, signature)
    assert status == 200 and (first["status"], first["balance_fen"], first["duplicate"]) == ("charged", 4700, False)
    # replayed as it was (same transaction id): the first outcome, charged once
    assert t.charge(request, signature) == (200, {**first, "duplicate": True})
    before = t.books()
    assert before[0] == 4700

    # altered after signing: any field
    for field, value in (("amount_fen", 3), ("student_id", uid("stu")), ("terminal_txn_id", "pos-2"),
                         ("at", (clock.now() - timedelta(hours=1)).isoformat()),
                         ("sent_at", (clock.now() + timedelta(seconds=1)).isoformat())):
        refused(t.charge({**request, field: value}, signature), 403, "signature does not match")
    # forged (another key), unsigned, a signature that is not one
    refused(t.charge(*t.signed(key=terminals.new_key())), 403, "signature does not match")
    refused(t.charge(t.signed()[0], ""), 403, "not signed")
    refused(school_terminals.post(t.url + "/wallet/v1/charges", t.signed()[0], {}), 403, "not signed")
    # stale or ahead: signed well, but outside the 5-minute window (an old capture replayed)
    for minutes in (-6, 6):
        old = {**t.signed()[0], "sent_at": (clock.now() + timedelta(minutes=minutes)).isoformat()}
        refused(t.charge(old, terminals.sign(t.key, terminals.CHARGE, old)), 403, "minutes from the service's clock")
    # the first request again, its window passed: refused before the duplicate is even looked up
    stale = {**request, "sent_at": (clock.now() - timedelta(minutes=10)).isoformat()}
    refused(t.charge(stale, terminals.sign(t.key, terminals.CHARGE, stale)), 403, "minutes")
    # unknown terminal
    refused(t.charge(*t.signed(terminal=uid("rogue"))), 403, "unknown or its credential was revoked")
    # not a request
    refused(school_terminals.post(t.url + "/wallet/v1/charges", ["x"], {"X-Terminal-Signature": signature}), 400,
            "JSON object")
    refused(t.charge({k: v for k, v in request.items() if k != "at"}, signature), 400, "at")
    refused(t.charge({**request, "amount_fen": "300"}, signature), 400, "amount_fen")
    assert t.books() == before   # nothing of that was stored

    # revoked: the terminal charges nothing, even with its old key; a new key brings it back
    assert t.rpc.wallet_revoke_terminal(t.terminal) is True
    assert t.rpc.wallet_revoke_terminal(t.terminal) is False
    refused(t.charge(*t.signed()), 403, "revoked")
    refused(t.charge(request, signature), 403, "revoked")   # not even the old answer to an old request
    refused(school_terminals.send(t.url, *school_terminals.signed_refund(t.terminal, t.key, "pos-1", 300)), 403,
            "revoked")
    assert t.books() == before
    new_key = terminals.new_key()
    t.rpc.wallet_register_terminal(t.terminal, t.school, "canteen", new_key, True)
    refused(t.charge(*t.signed(key=t.key)), 403, "signature does not match")
    status, back = school_terminals.send(t.url, *school_terminals.signed_refund(t.terminal, new_key, "pos-1", 300))
    assert status == 200 and back["balance_fen"] == 5000


def test_payment_notifications_are_checked_before_any_money_moves(till, start_service, service_config, rpc):
    t = till
    order = t.rpc.wallet_create_payment_order(t.guardian, t.student, 2000)
    paid = money.notice(order, provider_ref="wx-9")
    before = t.books()
    refused(money.notify(t.url, paid, signature=""), 403, "not signed")
    refused(money.notify(t.url, paid, signature=payments.sign("not-the-provider", paid)), 403, "does not match")
    refused(money.notify(t.url, paid, signature=payments.sign(money.PAYMENT_KEY, {**paid, "amount_fen": 1})),
            403, "does not match")   # signed for other fields than those sent
    refused(money.notify(t.url, money.notice(order, amount=2001)), 400, "is not the order's")
    refused(money.notify(t.url, money.notice(order, amount=1)), 400, "is not the order's")
    refused(money.notify(t.url, {**money.notice(order), "order_id": "po-" + uuid.uuid4().hex[:24]}), 404,
            "no payment order")
    refused(money.notify(t.url, {**money.notice(order), "status": "failed"}), 400, "only payments made")
    refused(money.notify(t.url, {k: v for k, v in paid.items() if k != "paid_at"}, signature="0" * 64), 400,
            "paid_at")
    assert t.books() == before
    assert t.db[wallet_store.ORDERS].find_one({"_id": order["order_id"]})["status"] == "pending"

    status, first = money.notify(t.url, paid)
    assert status == 200 and first["balance_fen"] == 7000
    assert money.notify(t.url, paid) == (200, {**first, "duplicate": True})     # replayed: OK, credited once
    after = t.books()
    refused(money.notify(t.url, money.notice(order, provider_ref="wx-10")), 409, "already used")  # paid twice?
    assert t.books() == after and after[0] == 7000

    # a service without the provider's key takes no notification at all
    bare = start_service(ElearningService, service_config("elearning", PAYMENT_PROVIDER_KEY=""))
    other = t.rpc.wallet_create_payment_order(t.guardian, t.student, 500)
    refused(money.notify(money.elearning_url(bare), money.notice(other)), 403, "PAYMENT_PROVIDER_KEY is not set")
    assert t.books() == after


def test_staff_top_ups_need_the_schools_staff_and_a_reason(till):
    t = till
    staff = {"role": "teacher", "id": t.teacher}
    before = t.books()

    def refused_rpc(actor, reason, kind, amount=1000):
        with pytest.raises(RemoteError) as err:
            t.rpc.wallet_staff_top_up(actor, t.student, amount, reason, uid("req"))
        assert err.value.exc_type == kind, err.value
        return err.value.value

    assert "reason" in refused_rpc(staff, "", "BadInput")
    assert "reason" in refused_rpc(staff, None, "BadInput")
    assert "reason" in refused_rpc(staff, "x" * 201, "BadInput")
    assert "school staff" in refused_rpc({"role": "guardian", "id": t.guardian}, "家长现金", "Forbidden")
    assert "school staff" in refused_rpc({"role": "teacher", "id": uid("t")}, "不在花名册", "Forbidden")
    assert "school staff" in refused_rpc("admin", "不是一个人", "Forbidden")
    other = Till.__new__(Till)   # a teacher of another school
    other.school, other.teacher = uid("sch"), uid("t")
    t.rpc.roster_import([{"kind": "org", "sourced_id": other.school, "name": "另一所学校", "type": "school"},
                         {"kind": "teacher", "sourced_id": other.teacher, "name": "李老师",
                          "school_ids": [other.school]}])
    assert "school staff" in refused_rpc({"role": "teacher", "id": other.teacher}, "别校老师", "Forbidden")
    assert "amount" in refused_rpc(staff, "现金充值", "BadInput", amount=0)
    assert t.books() == before

    done = t.rpc.wallet_staff_top_up(staff, t.student, 1500, "现金充值（学校财务室，收据 0042）", "req-42")
    assert (done["status"], done["balance_fen"]) == ("topped_up", 6500)
    assert t.rpc.wallet_staff_top_up(staff, t.student, 1500, "现金充值（学校财务室，收据 0042）", "req-42")["duplicate"]
    entry = t.db[wallet_store.LEDGER].find_one({"_id": "topup|staff|req-42"})
    assert (entry["source"], entry["staff_id"], entry["reason"], entry["amount_fen"]) == \
        ("staff", t.teacher, "现金充值（学校财务室，收据 0042）", 1500)
    statement = t.rpc.wallet_statement(t.guardian, t.student, entry["month"])
    assert statement["movements"][-1]["reason"] == "现金充值（学校财务室，收据 0042）"


def test_suite_terminal_add_prints_the_key_alone_last_and_revoke_stops_it(till, settings, monkeypatch, capsys):
    from infra.cli import main as cli

    t = till
    monkeypatch.setenv("AMQP_URI", settings.amqp_uri)
    shop = uid("shop")
    assert cli.main(["terminal", "add", shop, "--school", t.school, "--kind", "shop"]) == 0
    key = capsys.readouterr().out.rstrip("\n").splitlines()[-1]
    status, answer = t.charge(*t.signed(amount=100, terminal=shop, key=key))
    assert status == 200 and answer["status"] == "charged"
    assert cli.main(["terminal", "add", shop, "--school", t.school]) == 1          # already there
    assert "already registered" in capsys.readouterr().err
    assert cli.main(["terminal", "revoke", shop]) == 0
    capsys.readouterr()
    refused(t.charge(*t.signed(amount=100, terminal=shop, key=key)), 403, "revoked")
    assert cli.main(["terminal", "revoke", shop]) == 1
