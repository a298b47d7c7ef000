"""Residents signing in by phone code, and their portal sessions, with the real store and
broker: codes texted through the file sender and read back from its file, kept only as a
salted digest, good once, for 5 minutes and 5 tries; rate limits per number and per client
address; the number decides who signs in (one resident, none, or several); sessions that end
when idle, at 12 hours, at sign-out and everywhere at once."""
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from nameko.exceptions import RemoteError

from services.common import clock
from services.community import signin, sms
from services.community.service import CommunityService
from support import id_number, load_demo_district


class Outbox:
    """The file sender's file: what was texted to whom."""

    def __init__(self, path):
        self.path = path

    def codes_to(self, phone):
        if not self.path.exists():
            return []
        lines = [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines()]
        return [line["text"].split("验证码为")[1][:6] for line in lines if line["to"] == phone]

    def last_code(self, phone):
        return self.codes_to(phone)[-1]


@pytest.fixture
def community(start_service, service_config, rpc, tmp_path):
    start_service(CommunityService, service_config("community", SMS_SENDER="file",   # the default address limit
                                                   SMS_FILE=str(tmp_path / "sms" / "outbox.jsonl"),
                                                   SIGNIN_CODES_PER_ADDRESS_HOUR=""))
    load_demo_district(rpc)
    return rpc.community


@pytest.fixture
def outbox(tmp_path):
    return Outbox(tmp_path / "sms" / "outbox.jsonl")


def new_phone():
    return "139" + f"{uuid.uuid4().int % 10 ** 8:08d}"


def registered(community, phone):
    return community.register_resident({
        "id_number": id_number(), "name": "陈静", "phone": phone, "registered_committee": "C0101",
        "residence_committee": "C0101", "address": "龙华路9号"})["resident_id"]


def refused(call) -> RemoteError:
    with pytest.raises(RemoteError) as caught:
        call()
    return caught.value


def test_a_resident_signs_in_with_the_texted_code_once(community, outbox, db):
    phone = new_phone()
    resident_id = registered(community, phone)
    sent = community.signin_code_send(f"+86 {phone[:3]}-{phone[3:7]}-{phone[7:]}", "198.51.100.7")
    assert sent == {"sent_to": phone[:3] + "****" + phone[-4:], "expires_in": 300, "resend_after": 60}
    code = outbox.last_code(phone)
    stored = db("community").signin_codes.find_one({"_id": phone})
    assert code not in json.dumps(stored, default=str)     # only a salted digest is kept

    signed = community.signin_code_verify(phone, code)
    assert signed["resident_id"] == resident_id
    assert community.resident_session_get(signed["session_id"])["resident_id"] == resident_id
    assert db("community").resident_sessions.find_one({"_id": signed["session_id"]}) is None   # kept hashed
    again = refused(lambda: community.signin_code_verify(phone, code))    # a code is good once
    assert again.exc_type == "BadInput" and "重新获取" in again.value


def test_five_wrong_tries_use_the_code_up(community, outbox):
    phone = new_phone()
    registered(community, phone)
    community.signin_code_send(phone, "198.51.100.8")
    code = outbox.last_code(phone)
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    for left in (4, 3, 2, 1):
        assert f"{left} tries left" in refused(lambda: community.signin_code_verify(phone, wrong)).value
    assert "no tries left" in refused(lambda: community.signin_code_verify(phone, wrong)).value
    assert refused(lambda: community.signin_code_verify(phone, code)).exc_type == "BadInput"   # even the right one


def test_a_code_expires_after_five_minutes(community, outbox, later):
    phone = new_phone()
    registered(community, phone)
    community.signin_code_send(phone, "198.51.100.9")
    later(minutes=5, seconds=1)
    assert "expired" in refused(lambda: community.signin_code_verify(phone, outbox.last_code(phone))).value


def test_codes_are_rate_limited_per_number_and_per_address(community, outbox, later):
    now = clock.now()   # counts are kept per clock hour: start this test's five minutes at one's beginning
    later(seconds=3600 - now.minute * 60 - now.second + 5)
    phone = new_phone()
    community.signin_code_send(phone, "203.0.113.1")
    too_soon = refused(lambda: community.signin_code_send(phone, "203.0.113.2"))
    assert too_soon.exc_type == "RateLimited" and "60秒" in too_soon.value
    for _ in range(4):
        later(seconds=61)
        community.signin_code_send(phone, "203.0.113.1")
    later(seconds=61)
    assert "this number" in refused(lambda: community.signin_code_send(phone, "203.0.113.1")).value
    assert len(outbox.codes_to(phone)) == 5
    # one address asking for many numbers
    address = f"203.0.113.{uuid.uuid4().int % 200 + 10}"
    for _ in range(20):
        community.signin_code_send(new_phone(), address)
    assert "this address" in refused(lambda: community.signin_code_send(new_phone(), address)).value


@pytest.mark.parametrize("phone", ["", "1234", "23912345678", "139123456789", '{"$ne": null}', None, 139, "x" * 40])
def test_bad_numbers_and_codes_are_refused_and_nothing_is_sent(community, outbox, db, phone):
    assert refused(lambda: community.signin_code_send(phone, "203.0.113.50")).exc_type == "BadInput"
    assert refused(lambda: community.signin_code_verify(phone, "123456")).exc_type == "BadInput"
    assert not outbox.path.exists()


def test_bad_codes_and_addresses_are_refused(community, outbox):
    phone = new_phone()
    for code in ("12345", "1234567", "abcdef", '{"$gt": ""}', None):
        assert refused(lambda: community.signin_code_verify(phone, code)).exc_type == "BadInput"
    for address in ("", None, "x" * 65):
        assert refused(lambda: community.signin_code_send(phone, address)).exc_type == "BadInput"
    assert outbox.codes_to(phone) == []


def test_who_a_number_signs_in(community, outbox):
    nobody = new_phone()
    community.signin_code_send(nobody, "198.51.100.20")
    assert community.signin_code_verify(nobody, outbox.last_code(nobody)) == {
        "resident_id": None, "why": signin.NOT_REGISTERED}
    shared = new_phone()
    registered(community, shared)
    registered(community, shared)
    community.signin_code_send(shared, "198.51.100.21")
    assert community.signin_code_verify(shared, outbox.last_code(shared)) == {
        "resident_id": None, "why": signin.SHARED_NUMBER}


def test_sessions_end_when_idle_at_twelve_hours_and_on_sign_out(community, outbox, later):
    phone = new_phone()
    resident_id = registered(community, phone)

    def session():
        later(seconds=61)
        community.signin_code_send(phone, "198.51.100.30")
        return community.signin_code_verify(phone, outbox.last_code(phone))["session_id"]

    idle = session()
    later(minutes=29)
    assert community.resident_session_get(idle)["resident_id"] == resident_id   # and its idle clock moves
    later(minutes=29)
    assert community.resident_session_get(idle)["resident_id"] == resident_id
    later(minutes=31)
    assert refused(lambda: community.resident_session_get(idle)).exc_type == "NotFound"

    busy = session()
    for _ in range(12 * 4):
        later(minutes=15)
        try:
            community.resident_session_get(busy)
        except RemoteError:
            break
    assert refused(lambda: community.resident_session_get(busy)).exc_type == "NotFound"

    one, two, three = session(), session(), session()
    assert community.resident_session_close(one) is True
    assert refused(lambda: community.resident_session_get(one)).exc_type == "NotFound"
    assert community.resident_sessions_close_all(two) == 2
    for gone in (two, three):
        assert refused(lambda: community.resident_session_get(gone)).exc_type == "NotFound"
    for forged in ("", "x" * 43, None, '{"$ne": null}'):
        assert refused(lambda: community.resident_session_get(forged)).exc_type == "NotFound"


def test_the_http_sender_posts_to_the_sms_gateway(tmp_path):
    got = []

    class Gateway(BaseHTTPRequestHandler):
        def do_POST(self):
            got.append((self.headers["Authorization"], json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(202 if len(got) == 1 else 500)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sender = sms.sender_of({"SMS_SENDER": "http", "SMS_HTTP_URL": f"http://127.0.0.1:{server.server_port}/send",
                                "SMS_HTTP_TOKEN": "t0ken"})
        sender.send("13912345678", "验证码")
        assert got == [("Bearer t0ken", {"to": "13912345678", "text": "验证码"})]
        with pytest.raises(sms.SmsFailed, match="500"):
            sender.send("13912345678", "验证码")
    finally:
        server.shutdown()
        server.server_close()   # nothing listens now: refused at once
    with pytest.raises(sms.SmsFailed, match="did not answer"):
        sender.send("13912345678", "验证码")


def test_a_code_that_could_not_be_sent_can_be_asked_for_again_at_once(start_service, service_config, rpc, db):
    start_service(CommunityService, service_config("community", SMS_SENDER="http",
                                                   SMS_HTTP_URL="http://127.0.0.1:9/nothing-listens"))
    phone = new_phone()
    assert refused(lambda: rpc.community.signin_code_send(phone, "198.51.100.40")).exc_type == "StoreUnavailable"
    assert db("community").signin_codes.find_one({"_id": phone}) is None
    assert refused(lambda: rpc.community.signin_code_send(phone, "198.51.100.40")).exc_type == "StoreUnavailable"
