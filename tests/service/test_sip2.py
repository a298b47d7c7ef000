"""The library's SIP2 endpoint over a real TCP socket, with the real store and broker: what a
stock 3M SIP2 self-check client sends, and what it must get back."""
from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import time
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from support import free_port
from infra.local import demo_data
from services.common import passwords
from services.library.service import LibraryService
from services.library.sip2 import accounts, messages
from support import bind_probe_queue, drain, wait_for
from support.library import due_tomorrow

TZ = ZoneInfo("Asia/Shanghai")
PIN = "7391"
PIN_HASH = passwords.hash_secret(PIN)  # one hash for every test patron: scrypt is slow on purpose
# fixed-field length of each response, to split it like a client does
RESPONSE_FIXED = {"94": 1, "98": 34, "24": 35, "64": 59, "18": 24, "12": 22, "10": 22, "30": 22, "16": 20,
                  "36": 19, "96": 0}


class Reply:
    def __init__(self, raw: bytes, encoding: str):
        self.raw = raw
        text = raw.decode(encoding)
        if "AZ" in text[-9:]:
            assert messages.checksum(raw[:-4]) == text[-4:], f"bad checksum in {raw!r}"
            text = text[:text.rindex("AY") if "AY" in text[-9:] else text.rindex("AZ")]
        self.code = text[:2]
        self.fixed = text[2:2 + RESPONSE_FIXED[self.code]]
        self.fields = [(p[:2], p[2:]) for p in text[2 + RESPONSE_FIXED[self.code]:].split("|") if p]

    def __getitem__(self, tag: str) -> str | None:
        return next((v for t, v in self.fields if t == tag), None)

    def all(self, tag: str) -> list[str]:
        return [v for t, v in self.fields if t == tag]


class Client:
    """A self-check machine: error detection on, sequence numbers 0-9."""

    def __init__(self, port: int, sock: socket.socket | None = None, encoding: str = "cp850"):
        self.sock = sock or socket.create_connection(("127.0.0.1", port), timeout=10)
        self.encoding, self.seq, self.buf = encoding, 0, b""

    def frame(self, body: str) -> bytes:
        data = body.encode(self.encoding) + f"AY{self.seq}AZ".encode()
        self.seq = (self.seq + 1) % 10
        return data + messages.checksum(data).encode() + b"\r"

    def raw(self, data: bytes) -> bytes:
        self.sock.sendall(data)
        return self.read()

    def read(self) -> bytes:
        while b"\r" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                return b""  # closed
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r", 1)
        return line

    def send(self, body: str) -> Reply:
        return Reply(self.raw(self.frame(body)), self.encoding)

    def login(self, login: str, password: str) -> Reply:
        return self.send(f"9300CN{login}|CO{password}|CPMAIN|")

    def close(self):
        self.sock.close()


def now_sip(moment: datetime | None = None) -> str:
    return messages.sip_date(moment or datetime.now(TZ), TZ)


BLANK = " " * 18


@pytest.fixture
def library(start_service, service_config, rpc):
    """The library service with its SIP2 port, the demo locations and two machine accounts."""
    port = free_port()
    container = start_service(LibraryService, service_config("library", SIP2_PORT=port))
    rpc.library.upsert_locations(demo_data.LOCATIONS)
    made = {}
    for charset in ("cp850", "gb18030", None):   # None: as a new account gets by default
        login, password = f"sc-{charset or 'default'}-{uuid.uuid4().hex[:6]}", accounts.new_password()
        added = rpc.library.sip2_add_account(login, "MAIN", accounts.hash_password(password),
                                             *([charset] if charset else []))
        made[added["charset"]] = (login, password)
    clients = []

    def connect(charset: str = "cp850", log_in: bool = True) -> Client:
        client = Client(port, encoding=charset)
        clients.append(client)
        if log_in:
            assert client.login(*made[charset]).fixed == "1"
        return client
    yield type("Sip2", (), {"port": port, "accounts": made, "connect": staticmethod(connect), "rpc": rpc.library,
                            "container": container})
    for client in clients:
        client.close()


def a_patron(db, blocks=None, pin_hash=PIN_HASH):
    """A patron with the PIN ``PIN`` (``pin_hash=None``: one who has set no PIN yet)."""
    rid = uuid.uuid4().hex
    card = "LC" + rid[:10].upper()
    doc = {"_id": rid, "card_number": card, "name": "王读者", "patron_type": "adult", "home_committee": "C0101",
           "blocks": blocks or {}}
    db("library").patrons.insert_one({**doc, "pin_hash": pin_hash} if pin_hash else doc)
    return rid, card


def a_title(library, copies=("MAIN",), title="三体 第二部"):
    record_id = "t-" + uuid.uuid4().hex[:10]
    barcodes = [f"B{uuid.uuid4().hex[:10]}" for _ in copies]
    assert library.rpc.import_catalogue([{"record_id": record_id, "title": title, "authors": ["刘慈欣"],
                                          "copies": [{"barcode": b, "home_location": loc}
                                                     for b, loc in zip(barcodes, copies)]}])["stored"] == 1
    return record_id, barcodes


# ---- login and status -------------------------------------------------------------------

def test_login_status_and_end_of_session(library):
    login, password = library.accounts["cp850"]
    client = library.connect(log_in=False)
    assert client.send("9900302.00").fixed.startswith("Y")           # status is answered before login
    for who, secret, ok in [(login, "wrong", "0"), (login, "", "0"), (login, password, "1")]:
        assert client.login(who, secret).fixed == ok                  # the connection survives a wrong login
    status = client.send("9900302.00")
    assert status.code == "98" and status.fixed[-4:] == "2.00"
    assert status["BX"] == "YYYNYYYYYNYNNYYN" and status["AN"] == "MAIN"
    # on-line, checkin ok, checkout ok, renewal policy, no status update, offline ok
    assert status.fixed[:6] == "YYYYNY"
    ended = client.send(f"35{now_sip()}AOinst|AALC000|")
    assert (ended.code, ended.fixed[0], ended["AA"]) == ("36", "Y", "LC000")


def test_before_login_a_transaction_is_refused_with_a_reason_the_machine_shows(library, db):
    _, card = a_patron(db)
    _, [barcode] = a_title(library)
    client = library.connect(log_in=False)
    for body, code in [(f"11YN{now_sip()}{BLANK}AOinst|AA{card}|AB{barcode}|AD{PIN}|", "12"),
                       (f"17{now_sip()}AOinst|AB{barcode}|", "18"),
                       (f"63019{now_sip()}          AOinst|AA{card}|AD{PIN}|", "64")]:
        reply = client.send(body)
        assert reply.code == code and "not signed in" in reply["AF"], reply.raw
        assert reply["AJ"] in (None, "") and reply["AE"] in (None, "")   # nothing about the item or patron
    assert db("library").copies.find_one({"_id": barcode})["status"] == "available"   # not acted on
    assert client.send("9900302.00").code == "98"                     # the connection goes on
    assert client.login(*library.accounts["utf-8"]).fixed == "1"
    assert client.send(f"11YN{now_sip()}{BLANK}AOinst|AA{card}|AB{barcode}|AD{PIN}|").fixed[0] == "1"


def test_three_wrong_logins_close(library):
    other = library.connect(log_in=False)
    login, password = library.accounts["cp850"]
    for who in ("nobody", login, login):
        assert other.login(who, "x" if who == login else password).fixed == "0"
    assert other.read() == b""


# ---- patrons and items ------------------------------------------------------------------

@pytest.mark.parametrize("pin, valid, pin_ok", [(PIN, "Y", "Y"), ("", "Y", "N"), (None, "Y", None)])
def test_patron_status(library, db, pin, valid, pin_ok):
    _, card = a_patron(db)
    client = library.connect()
    ad = "" if pin is None else f"AD{pin}|"
    reply = client.send(f"23019{now_sip()}AOinst|AA{card}|ACterm|{ad}")
    assert (reply.code, reply["BL"], reply["CQ"], reply["AA"]) == ("24", valid, pin_ok, card)
    assert reply.fixed[:14] == " " * 14 and reply.fixed[14:17] == "019"
    unknown = client.send(f"23019{now_sip()}AOinst|AALCNOBODY|AD{PIN}|")
    assert unknown["BL"] == "N" and unknown.fixed[:4] == "YYYY"


def test_patron_information_lists_charged_items_and_holds(library, db):
    rid, card = a_patron(db)
    title_id, [b1, b2] = a_title(library, copies=("MAIN", "MAIN"))
    client = library.connect()
    for b in (b1, b2):
        assert client.send(f"11YN{now_sip()}{BLANK}AOinst|AA{card}|AB{b}|AD{PIN}|").fixed[0] == "1"
    other_title, [b3] = a_title(library, title="活着")
    library.rpc.checkout(b3, a_patron(db)[0], "MAIN")
    assert client.send(f"15+{now_sip()}AOinst|AA{card}|AB{b3}|AD{PIN}|").fixed[0] == "1"
    charged = client.send(f"63019{now_sip()}  Y       AOinst|AA{card}|AD{PIN}|")
    assert charged.code == "64" and charged.fixed[17 + 18:] == "000000000002000000000001"
    assert sorted(charged.all("AU")) == sorted([b1, b2]) and charged["AE"] == "???"  # cp850 has no 王读者
    assert charged["BL"] == "Y" and charged["CQ"] == "Y" and charged["CB"] == "0010"
    page = client.send(f"63019{now_sip()}  Y       AOinst|AA{card}|BP2|BQ2|")
    assert len(page.all("AU")) == 1
    waiting = client.send(f"63019{now_sip()}     Y    AOinst|AA{card}|")
    assert waiting.all("CD") == [other_title] and waiting.all("AU") == []


def test_item_information(library, db):
    _, [barcode] = a_title(library, copies=("K-001",))
    client = library.connect()
    item = client.send(f"17{now_sip()}AOinst|AB{barcode}|")
    assert (item.code, item.fixed[:2], item["AB"], item["AQ"], item["AP"], item["CF"]) == (
        "18", "03", barcode, "K-001", "K-001", "0")
    assert item["AJ"] == "??" + " " + "???"                         # the title, in cp850's poverty
    missing = client.send(f"17{now_sip()}AOinst|ABNOSUCH|")
    assert missing.fixed[:2] == "01" and missing["AB"] == "NOSUCH" and missing["AF"]


# ---- circulation --------------------------------------------------------------------------

def test_checkout_once_even_when_resent_then_renew_and_checkin(library, db, settings):
    rid, card = a_patron(db)
    _, [barcode] = a_title(library)
    login, _ = library.accounts["cp850"]
    probe = bind_probe_queue(settings.amqp_uri, "library.events", "cn.library.loan.checked_out.v1")
    client = library.connect()
    request = client.frame(f"11YN{now_sip()}{BLANK}AOinst|AA{card}|AB{barcode}|AD{PIN}|BON|BIN|")
    first = client.raw(request)
    out = Reply(first, "cp850")
    assert out.code == "12" and out.fixed[:4] == "1NNY" and out["AB"] == barcode and out["BK"]
    assert out["AH"] and out["AH"][8:12] == "    "
    copy = db("library").copies.find_one({"_id": barcode})
    assert copy["status"] == "on_loan" and copy["loan"]["patron"] == rid and copy["loan"]["location"] == "MAIN"
    [event] = drain(settings.amqp_uri, probe)
    body = json.loads(event.body)
    assert body["data"]["source"] == f"sip2:{login}" and body["data"]["barcode"] == barcode

    # the machine did not hear us and sends the same bytes again: same answer, nothing done twice
    assert client.raw(request) == first
    assert db("library").copies.find_one({"_id": barcode})["version"] == copy["version"]
    assert client.send("97").raw == first                         # "request ACS resend" too

    due_tomorrow(db, barcode)   # lent weeks ago, as it were: a renewal today moves its due date
    renewed = client.send(f"29NN{now_sip()}{BLANK}AOinst|AA{card}|AB{barcode}|AD{PIN}|")
    assert renewed.code == "30" and renewed.fixed[:2] == "1Y"
    assert db("library").copies.find_one({"_id": barcode})["loan"]["renewals"] == 1

    back = client.send(f"09N{now_sip()}{now_sip()}APMAIN|AOinst|AB{barcode}|")
    assert back.code == "10" and back.fixed[:4] == "1YNN" and back["AQ"] == "MAIN"
    assert db("library").copies.find_one({"_id": barcode})["status"] == "available"
    assert db("library").loan_history.find_one({"_id": copy["loan"]["loan_id"]})["returned_to"] == "MAIN"


def test_refusals_answer_with_a_reason(library, db):
    _, card = a_patron(db)
    holder, _ = a_patron(db)
    _, [barcode, other] = a_title(library, copies=("MAIN", "MAIN"))
    library.rpc.checkout(barcode, holder, "MAIN")
    client = library.connect()
    cases = [
        (f"11YN{now_sip()}{BLANK}AOinst|AA{card}|AB{barcode}|AD{PIN}|", "someone else"),  # on loan to another
        (f"11YN{now_sip()}{BLANK}AOinst|AA{card}|AB{other}|AD|", "PIN"),                 # empty PIN
        (f"11YN{now_sip()}{BLANK}AOinst|AALCNOBODY|AB{other}|AD{PIN}|", "card"),         # unknown card
        (f"29NN{now_sip()}{BLANK}AOinst|AA{card}|AB{barcode}|AD{PIN}|", "not on loan to you"),
    ]
    for body, why in cases:
        reply = client.send(body)
        assert reply.fixed[0] == "0" and why in reply["AF"], (body, reply.raw)
    assert db("library").copies.find_one({"_id": other})["status"] == "available"


def test_hold_placed_and_cancelled(library, db):
    _, card = a_patron(db)
    title_id, [barcode] = a_title(library)
    library.rpc.checkout(barcode, a_patron(db)[0], "MAIN")
    client = library.connect()
    placed = client.send(f"15+{now_sip()}BSB-FL|AOinst|AA{card}|AJ{title_id}|AD{PIN}|")
    assert placed.code == "16" and placed.fixed[:2] == "1N" and placed["BR"] == "1" and placed["BS"] == "B-FL"
    hold = db("library").holds.find_one({"title_id": title_id})
    assert hold["status"] == "waiting" and hold["pickup"] == "B-FL"
    again = client.send(f"15+{now_sip()}AOinst|AA{card}|AJ{title_id}|")  # PIN given before in the session
    assert again.fixed[0] == "0" and "already" in again["AF"]
    cancelled = client.send(f"15-{now_sip()}AOinst|AA{card}|AB{barcode}|")
    assert cancelled.fixed[0] == "1"
    assert db("library").holds.find_one({"_id": hold["_id"]})["status"] == "cancelled"


def test_no_block_transactions_of_an_offline_machine_keep_their_dates(library, db):
    blocked, card = a_patron(db, blocks={"b1": {"reason": "证件挂失", "by": "clerk", "kind": "manual"}})
    _, [barcode] = a_title(library)
    client = library.connect()
    refused = client.send(f"11YN{now_sip()}{BLANK}AOinst|AA{card}|AB{barcode}|AD{PIN}|")
    assert refused.fixed[0] == "0" and "blocked" in refused["AF"]
    lent = datetime.now(TZ).replace(microsecond=0) - timedelta(days=3)
    offline = client.send(f"11YY{now_sip(lent)}{BLANK}AOinst|AA{card}|AB{barcode}|")   # no block, no PIN
    assert offline.fixed[0] == "1"
    loan = db("library").copies.find_one({"_id": barcode})["loan"]
    assert loan["patron"] == blocked
    assert datetime.fromisoformat(loan["loaned_at"]) == lent
    assert date.fromisoformat(loan["due"]) - lent.date() >= timedelta(days=30)
    returned = lent + timedelta(days=1)
    back = client.send(f"09Y{now_sip()}{now_sip(returned)}APMAIN|AOinst|AB{barcode}|")
    assert back.fixed[0] == "1"
    history = db("library").loan_history.find_one({"_id": loan["loan_id"]})
    assert datetime.fromisoformat(history["returned_at"]) == returned


def test_a_stale_offline_checkout_is_recorded_and_kept_for_staff(library, db, settings):
    """A machine forwards a loan it made offline, but the item has changed since (lent at the
    desk): answered "recorded" (the item has left), not applied, kept as a conflict once."""
    holder, _ = a_patron(db)
    _, card = a_patron(db)
    _, [barcode] = a_title(library)
    login, _ = library.accounts["cp850"]
    library.rpc.checkout(barcode, holder, "MAIN")
    probe = bind_probe_queue(settings.amqp_uri, "library.events", "cn.library.circulation.conflict.v1")
    lent = datetime.now(TZ).replace(microsecond=0) - timedelta(days=2)
    request = f"11YY{now_sip(lent)}{BLANK}AOinst|AA{card}|AB{barcode}|"
    holders_loan = db("library").copies.find_one({"_id": barcode})["loan"]
    for client in (library.connect(), library.connect()):       # forwarded twice, on two connections
        reply = client.send(request)
        # not lent to this patron now: never answered with the holder's loan
        assert reply.fixed[0] == "0" and "kept for staff" in reply["AF"], reply.raw
        assert not reply["AH"] and not reply["BK"] and holders_loan["loan_id"] not in reply.raw.decode()
    assert db("library").copies.find_one({"_id": barcode})["loan"]["patron"] == holder   # not undone
    [conflict] = list(db("library").conflicts.find({"barcode": barcode}))
    assert (conflict["kind"], conflict["status"], conflict["kiosk_id"]) == ("stale_checkout", "open", f"sip2:{login}")
    assert conflict["event"]["data"]["card_number"] == card
    assert datetime.fromisoformat(conflict["event"]["time"]) == lent
    day = str(lent.date())   # the district's day (TZ)
    assert conflict["_id"] in [c["conflict_id"] for c in library.rpc.conflicts("open", None, 200, {
        "location": conflict["event"]["data"]["location"], "kind": "stale_checkout", "since": day, "until": day}
    )["conflicts"]]
    [event] = drain(settings.amqp_uri, probe)
    assert json.loads(event.body)["data"]["kiosk_id"] == f"sip2:{login}"
    # the machine's return of that loan comes late too: the note is settled, the loan at the desk stands
    back = library.connect().send(f"09Y{now_sip()}{now_sip(lent + timedelta(hours=1))}APMAIN|AOinst|AB{barcode}|")
    assert back.fixed[0] == "1" and "recorded" in back["AF"]
    assert db("library").conflicts.find_one({"_id": conflict["_id"]})["status"] == "resolved"
    assert db("library").copies.find_one({"_id": barcode})["loan"]["patron"] == holder


@pytest.mark.parametrize("zone, local", [("    ", True), ("   Z", False), ("UTC ", False)])
def test_an_offline_checkout_just_before_a_desk_loan_is_not_the_machines_patrons(library, db, zone, local):
    """The machine lent it offline a minute before the desk lent it to someone else (its
    transaction date in local time, or in UTC when it says so); the machine forwards it after."""
    holder, _ = a_patron(db)
    rid, card = a_patron(db)
    _, [barcode] = a_title(library)
    offline_at = datetime.now(TZ).replace(microsecond=0) - timedelta(minutes=1)
    library.rpc.checkout(barcode, holder, "MAIN")
    stamp = offline_at if local else offline_at.astimezone(ZoneInfo("UTC"))
    date_text = stamp.strftime("%Y%m%d") + zone + stamp.strftime("%H%M%S")
    reply = library.connect().send(f"11YY{date_text}{BLANK}AOinst|AA{card}|AB{barcode}|")
    assert reply.fixed[0] == "0" and not reply["AH"], reply.raw
    assert db("library").copies.find_one({"_id": barcode})["loan"]["patron"] == holder
    [conflict] = list(db("library").conflicts.find({"barcode": barcode}))
    assert conflict["kind"] == "stale_checkout"
    assert datetime.fromisoformat(conflict["event"]["time"]) == offline_at
    assert conflict["event"]["time"].endswith("+00:00")   # one way to write an instant in the store


def test_an_offline_checkout_after_a_desk_loan_implies_its_return(library, db):
    """Lent at the desk, then (that patron's return unseen) lent offline by the machine: the
    machine's patron has it; the desk loan is closed as of then, and staff see why."""
    holder, _ = a_patron(db)
    rid, card = a_patron(db)
    _, [barcode] = a_title(library)
    library.rpc.checkout(barcode, holder, "MAIN")
    desk_loan = db("library").copies.find_one({"_id": barcode})["loan"]
    later = datetime.now(TZ).replace(microsecond=0) + timedelta(seconds=1)
    time.sleep(max(0.0, (later - datetime.now(TZ)).total_seconds()))   # a machine's clock counts seconds
    reply = library.connect().send(f"11YY{now_sip(later)}{BLANK}AOinst|AA{card}|AB{barcode}|")
    copy = db("library").copies.find_one({"_id": barcode})
    assert reply.fixed[0] == "1" and reply["AH"] and copy["loan"]["patron"] == rid
    assert reply["BK"] == copy["loan"]["loan_id"] != desk_loan["loan_id"]
    ended = db("library").loan_history.find_one({"_id": desk_loan["loan_id"]})
    assert ended["implied_return"] and datetime.fromisoformat(ended["returned_at"]) == later
    [conflict] = list(db("library").conflicts.find({"barcode": barcode}))
    assert (conflict["kind"], conflict["status"]) == ("implied_return", "open")


# ---- PINs -----------------------------------------------------------------------------------

def test_the_pin_is_checked_against_the_patrons_hash(library, db):
    rid, card = a_patron(db)
    _, [barcode] = a_title(library)
    client = library.connect()
    wrong = client.send(f"23019{now_sip()}AOinst|AA{card}|AD7392|")
    assert (wrong["BL"], wrong["CQ"], wrong["AF"]) == ("Y", "N", "wrong PIN")
    refused = client.send(f"11YN{now_sip()}{BLANK}AOinst|AA{card}|AB{barcode}|AD7392|")
    assert refused.fixed[0] == "0" and refused["AF"] == "wrong PIN"
    assert db("library").copies.find_one({"_id": barcode})["status"] == "available"
    right = client.send(f"63019{now_sip()}          AOinst|AA{card}|AD{PIN}|")
    assert right["CQ"] == "Y"
    assert client.send(f"11YN{now_sip()}{BLANK}AOinst|AA{card}|AB{barcode}|").fixed[0] == "1"  # PIN given before
    stored = db("library").patrons.find_one({"_id": rid})
    assert not stored.get("pin_failures")                        # a good PIN forgets the wrong one


def test_a_patron_with_no_pin_is_told_to_set_one(library, db):
    _, card = a_patron(db, pin_hash=None)
    _, [barcode] = a_title(library)
    client = library.connect()
    for ad in ("", "AD|", "AD2468|"):
        status = client.send(f"23019{now_sip()}AOinst|AA{card}|{ad}")
        assert status["CQ"] == "N" and "set one in the app or at a library desk" in status["AF"], ad
    refused = client.send(f"11YN{now_sip()}{BLANK}AOinst|AA{card}|AB{barcode}|AD2468|")
    assert refused.fixed[0] == "0" and "set one in the app" in refused["AF"]
    assert db("library").copies.find_one({"_id": barcode})["status"] == "available"
    offline = client.send(f"11YY{now_sip()}{BLANK}AOinst|AA{card}|AB{barcode}|")   # done offline: no PIN asked
    assert offline.fixed[0] == "1"


def test_five_wrong_pins_block_pin_entry_until_the_block_ends(library, db):
    rid, card = a_patron(db)
    client = library.connect()
    patrons = db("library").patrons
    # wrong guesses older than the window do not count
    old = (datetime.now(TZ) - timedelta(minutes=20)).isoformat()
    patrons.update_one({"_id": rid}, {"$set": {"pin_failures": [old, old, old, old]}})
    for guess in ("1111", "2222", "3333", "4444"):
        assert client.send(f"23019{now_sip()}AOinst|AA{card}|AD{guess}|")["AF"] == "wrong PIN"
    assert "pin_block" not in patrons.find_one({"_id": rid})
    fifth = client.send(f"23019{now_sip()}AOinst|AA{card}|AD5555|")
    assert fifth["CQ"] == "N" and "blocked" in fifth["AF"]
    block = patrons.find_one({"_id": rid})["pin_block"]
    assert block["kind"] == "automatic" and block["reason"] == "5 wrong PINs within 15 minutes"
    assert datetime.fromisoformat(block["until"]) > datetime.now(TZ) + timedelta(minutes=29)
    # while blocked, even the right PIN is refused (and not checked)
    blocked = client.send(f"23019{now_sip()}AOinst|AA{card}|AD{PIN}|")
    assert blocked["CQ"] == "N" and "blocked" in blocked["AF"] and "ask at a library desk" in blocked["AF"]
    # the block ends by itself
    ended = (datetime.now(TZ) - timedelta(seconds=1)).isoformat()
    patrons.update_one({"_id": rid}, {"$set": {"pin_block.until": ended}})
    assert client.send(f"23019{now_sip()}AOinst|AA{card}|AD{PIN}|")["CQ"] == "Y"


def test_the_third_block_in_a_day_locks_pin_entry_until_a_new_pin_is_set(library, db):
    """Blocks that end by themselves would let a guesser try 5 PINs every half hour (240 a day):
    the third block within 24 hours lasts until a new PIN is set."""
    rid, card = a_patron(db)
    client = library.connect()
    patrons = db("library").patrons
    earlier = [(datetime.now(TZ) - timedelta(hours=h)).isoformat() for h in (5, 2)]
    patrons.update_one({"_id": rid}, {"$set": {"pin_blocks_seen": earlier}})
    for guess in ("1111", "2222", "3333", "4444", "5555"):
        answer = client.send(f"23019{now_sip()}AOinst|AA{card}|AD{guess}|")
    assert answer["CQ"] == "N" and "set a new PIN" in answer["AF"]
    block = patrons.find_one({"_id": rid})["pin_block"]
    assert block["locked"] is True and block["until"] is None and "a new PIN is needed" in block["reason"]
    # the right PIN, hours later, is still refused without being checked
    patrons.update_one({"_id": rid}, {"$set": {"pin_block.at": (datetime.now(TZ) - timedelta(hours=6)).isoformat()}})
    still = client.send(f"23019{now_sip()}AOinst|AA{card}|AD{PIN}|")
    assert still["CQ"] == "N" and "set a new PIN" in still["AF"]
    # a new PIN (at a desk) lifts the lock and forgets the blocks
    library.rpc.set_patron_pin(rid, "8642", "clerk-1")
    doc = patrons.find_one({"_id": rid})
    assert "pin_block" not in doc and "pin_blocks_seen" not in doc
    assert client.send(f"23019{now_sip()}AOinst|AA{card}|AD8642|")["CQ"] == "Y"


def test_pins_are_set_hashed_checked_for_easy_ones_and_lift_a_block(library, db):
    from nameko.exceptions import RemoteError

    rid, card = a_patron(db, pin_hash=None)
    patrons = db("library").patrons
    for bad in ("0000", "1234", "123456", "987654", "121212", "123", "123456789", "12a4", ""):
        with pytest.raises(RemoteError) as err:
            library.rpc.set_patron_pin(rid, bad, "clerk-1")
        assert err.value.exc_type == "BadInput", bad
    assert "too easy to guess" in str(refused_value(library, rid, "1234"))
    assert "pin_hash" not in patrons.find_one({"_id": rid})           # nothing stored by a refusal
    with pytest.raises(RemoteError) as err:
        library.rpc.set_patron_pin("nobody", "2468", "clerk-1")
    assert err.value.exc_type == "NotFound"

    patrons.update_one({"_id": rid}, {"$set": {"pin_block": {"reason": "5 wrong PINs within 15 minutes",
                                                             "until": "2999-01-01T00:00:00+00:00"}}})
    card_view = library.rpc.set_patron_pin(rid, "2468", "clerk-1")    # staff at a desk
    assert card_view["has_pin"] is True and card_view["card_number"] == card
    stored = patrons.find_one({"_id": rid})
    assert "2468" not in json.dumps(stored, default=str) and passwords.matches("2468", stored["pin_hash"])
    assert "pin_block" not in stored                                  # a new PIN lifts the block
    [entry] = library.rpc.patron_audit(rid)
    assert (entry["what"], entry["by"]) == ("pin_set", "clerk-1") and "2468" not in json.dumps(entry)
    client = library.connect()
    assert client.send(f"23019{now_sip()}AOinst|AA{card}|AD2468|")["CQ"] == "Y"


def refused_value(library, rid, pin):
    from nameko.exceptions import RemoteError

    with pytest.raises(RemoteError) as err:
        library.rpc.set_patron_pin(rid, pin, "clerk-1")
    return err.value.value


# ---- errors ---------------------------------------------------------------------------------

def test_bad_checksum_garbage_and_too_long_get_96_and_the_connection_goes_on(library):
    client = library.connect()
    good = client.frame("9900302.00")
    broken = good[:-5] + (b"0000" if good[-5:-1] != b"0000" else b"1111") + b"\r"
    assert client.raw(broken) == b"96AZFEF6"
    assert client.raw(b"hello, library\r\n") == b"96"
    assert client.raw(b"11" + b"x" * 3000 + b"\r") == b"96"
    assert client.raw(b"\xff\xfe\xfd\r") == b"96"
    assert client.raw(f"37{now_sip()}01 00CNY\r".encode()) == b"96"  # fee paid: not supported (BX says so)
    assert client.send("9900302.00").code == "98"                     # still usable
    assert client.raw(b"9900302.00\r").startswith(b"98")              # and without error detection


@pytest.mark.parametrize("trailer", ["AY1AZ123", "AY1AZ12345", "AYAZFEF6", "AY12", "AY1AZ"])
def test_a_malformed_trailer_gets_96_and_is_not_acted_on(library, db, trailer):
    _, card = a_patron(db)
    _, [barcode] = a_title(library)
    client = library.connect()
    reply = client.raw(f"11YN{now_sip()}{BLANK}AOinst|AA{card}|AB{barcode}|AD{PIN}|{trailer}\r".encode())
    assert reply[:2] == b"96"
    if "AZ" in trailer:     # it meant error detection: the resend request carries a good checksum
        assert reply[-4:] == messages.checksum(reply[:-4]).encode()
    assert db("library").copies.find_one({"_id": barcode})["status"] == "available"
    assert client.send(f"11YN{now_sip()}{BLANK}AOinst|AA{card}|AB{barcode}|AD{PIN}|").fixed[0] == "1"


# ---- character sets --------------------------------------------------------------------------

@pytest.mark.parametrize("charset", ["gb18030", "utf-8"])
def test_chinese_title_round_trips(library, db, charset):
    """gb18030 when asked for, utf-8 for an account that chose nothing: both carry Chinese."""
    title = "三体 第二部：黑暗森林"
    _, [barcode] = a_title(library, title=title)
    rid, card = a_patron(db)
    client = library.connect(charset)
    item = client.send(f"17{now_sip()}AOinst|AB{barcode}|")
    assert title.encode(charset) in item.raw and item["AJ"] == title
    out = client.send(f"11YN{now_sip()}{BLANK}AOinst|AA{card}|AB{barcode}|AD{PIN}|")
    assert out.fixed[0] == "1" and out["AJ"] == title
    info = client.send(f"63019{now_sip()}          AOinst|AA{card}|AD{PIN}|")
    assert info["AE"] == "王读者"


# ---- TLS ---------------------------------------------------------------------------------

def _self_signed(tmp_path) -> tuple[str, str]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    try:
        from cryptography import x509  # noqa: F401
    except ImportError:
        if not shutil.which("openssl"):
            pytest.skip("neither the cryptography package nor the openssl command is here to make a certificate")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                        "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
        return str(cert), str(key)
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(ZoneInfo("UTC"))
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
                   .not_valid_after(now + timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                               x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .sign(private, hashes.SHA256()))
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return str(cert), str(key)


def test_tls_listener(start_service, service_config, rpc, tmp_path):
    cert, key = _self_signed(tmp_path)
    port, tls_port = free_port(), free_port()
    start_service(LibraryService, service_config("library", SIP2_PORT=port, SIP2_TLS_PORT=tls_port,
                                                 SIP2_TLS_CERT=cert, SIP2_TLS_KEY=key))
    rpc.library.upsert_locations(demo_data.LOCATIONS)
    login, password = f"sc-tls-{uuid.uuid4().hex[:6]}", accounts.new_password()
    rpc.library.sip2_add_account(login, "MAIN", accounts.hash_password(password))
    context = ssl.create_default_context(cafile=cert)
    raw = socket.create_connection(("127.0.0.1", tls_port), timeout=10)
    client = Client(tls_port, sock=context.wrap_socket(raw, server_hostname="localhost"))
    try:
        assert client.login(login, password).fixed == "1"
        assert client.send("9900302.00").code == "98"
    finally:
        client.close()


def test_an_idle_connection_is_closed(start_service, service_config):
    port = free_port()
    start_service(LibraryService, service_config("library", SIP2_PORT=port, SIP2_IDLE_SECONDS=0.3))
    client = Client(port)
    assert client.send("9900302.00").code == "98"
    assert wait_for(lambda: client.read() == b"", timeout=5)


# ---- accounts -----------------------------------------------------------------------------

def test_accounts_are_added_once_and_checked(library, db):
    from nameko.exceptions import RemoteError

    from infra.local import demo_data, seed

    login = f"sc-{uuid.uuid4().hex[:6]}"
    first = accounts.hash_password("one")
    assert library.rpc.sip2_add_account(login, "K-001", first, "utf-8")["created"]
    for args, kind in [((login, "MAIN", first), "Conflict"), (("bad login", "MAIN", first), "BadInput"),
                       ((login + "x", "NOWHERE", first), "BadInput"), ((login + "x", "MAIN", "plain"), "BadInput"),
                       ((login + "x", "MAIN", first, "latin-1"), "BadInput")]:
        with pytest.raises(RemoteError) as err:
            library.rpc.sip2_add_account(*args)
        assert err.value.exc_type == kind, args
    kept = library.rpc.sip2_add_account(login, "MAIN", accounts.hash_password("two"), "cp850", "keep")
    assert (kept["created"], kept["location"], kept["charset"]) == (False, "K-001", "utf-8")
    library.rpc.sip2_add_account(login, "MAIN", accounts.hash_password("two"), "cp850", "replace")
    stored = db("library").sip2_accounts.find_one({"_id": login})
    assert stored["location"] == "MAIN" and "two" not in json.dumps(stored)
    assert accounts.verify_password("two", stored["password_hash"])
    # the demo machine of `suite seed`, twice
    for _ in range(2):
        seed.seed_demo_account(_Rpc(library.rpc))
    client = library.connect(log_in=False)
    assert client.login(demo_data.DEMO_SIP2_LOGIN, demo_data.DEMO_SIP2_PASSWORD).fixed == "1"


def test_the_demo_card_gets_the_demo_pin_once(library, db):
    from infra.local import demo_data, seed

    rid, card = a_patron(db, pin_hash=None)
    assert seed.seed_demo_pin(_Rpc(library.rpc), rid) == card
    client = library.connect()
    assert client.send(f"23019{now_sip()}AOinst|AA{card}|AD{demo_data.DEMO_PIN}|")["CQ"] == "Y"
    library.rpc.set_patron_pin(rid, "5820", rid)                     # the resident chose their own
    assert seed.seed_demo_pin(_Rpc(library.rpc), rid) == card    # seeding again keeps it
    assert client.send(f"23019{now_sip()}AOinst|AA{card}|AD5820|")["CQ"] == "Y"
    assert seed.seed_demo_pin(_Rpc(library.rpc), "no-such-resident", wait=0.3) is None


class _Rpc:
    def __init__(self, library):
        self.library = library
