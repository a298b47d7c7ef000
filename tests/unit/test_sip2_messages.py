"""SIP2 framing and responses, without a socket or a store."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from services.common import passwords
from services.library.sip2 import accounts, messages, responses
from services.library.sip2.messages import BadChecksum, Malformed

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = "20250301    093000"


def with_trailer(body: str, seq: str | None = "1", encoding: str = "cp850") -> bytes:
    data = body.encode(encoding) + (b"AY" + seq.encode() if seq is not None else b"") + b"AZ"
    return data + messages.checksum(data).encode()


def fields_of(reply: responses.Reply) -> list[str]:
    return [tag for tag, value in reply.fields if value is not None]


# ---- checksums ------------------------------------------------------------------------

@pytest.mark.parametrize("data, expected", [
    # by hand: "9"+"6"+"A"+"Z" = 57+54+65+90 = 266 = 0x010A; 0x10000 - 0x010A = 0xFEF6
    (b"96AZ", "FEF6"),
    (b"97AZ", "FEF5"),                      # one less in the sum, one more in the checksum
    (b"940AY0AZ", "FDFE"),                  # 514 = 0x0202
    (b"9900401.00AY1AZ", "FCA5"),           # the vector in FOLIO edge-sip2's tests
    (b"", "0000"),
])
def test_checksum_is_the_twos_complement_of_the_byte_sum(data, expected):
    assert messages.checksum(data) == expected
    assert (sum(data) + int(expected, 16)) & 0xFFFF == 0


def test_a_long_message_sum_wraps_at_16_bits():
    data = b"\xff" * 1000                    # 255000 = 0x3E418: only 0xE418 counts
    assert messages.checksum(data) == f"{0x10000 - 0xE418:04X}"


# ---- parsing --------------------------------------------------------------------------

@pytest.mark.parametrize("raw, code, fixed, fields", [
    ("9300CNsc-1|COsecret|CPMAIN|", "93", {"uid_algorithm": "0", "pwd_algorithm": "0"},
     [("CN", "sc-1"), ("CO", "secret"), ("CP", "MAIN")]),
    ("9900302.00", "99", {"status_code": "0", "max_print_width": "030", "protocol_version": "2.00"}, []),
    (f"23019{NOW}AOinst|AALC1|ACterm|AD1234|", "23", {"language": "019", "transaction_date": NOW},
     [("AO", "inst"), ("AA", "LC1"), ("AC", "term"), ("AD", "1234")]),
    (f"63001{NOW}  Y       AOinst|AALC1|BP1|BQ5|", "63",
     {"language": "001", "transaction_date": NOW, "summary": "  Y       "},
     [("AO", "inst"), ("AA", "LC1"), ("BP", "1"), ("BQ", "5")]),
    (f"17{NOW}AOinst|ABC0000001|", "17", {"transaction_date": NOW}, [("AO", "inst"), ("AB", "C0000001")]),
    (f"11YN{NOW}{' ' * 18}AOinst|AALC1|ABC1|AD1234|BON|BIN|", "11",
     {"sc_renewal_policy": "Y", "no_block": "N", "transaction_date": NOW, "nb_due_date": " " * 18},
     [("AO", "inst"), ("AA", "LC1"), ("AB", "C1"), ("AD", "1234"), ("BO", "N"), ("BI", "N")]),
    (f"09Y{NOW}{NOW}APK-001|AOinst|ABC1|", "09", {"no_block": "Y", "transaction_date": NOW, "return_date": NOW},
     [("AP", "K-001"), ("AO", "inst"), ("AB", "C1")]),
    (f"29NN{NOW}{' ' * 18}AOinst|AALC1|ABC1|", "29",
     {"third_party_allowed": "N", "no_block": "N", "transaction_date": NOW, "nb_due_date": " " * 18},
     [("AO", "inst"), ("AA", "LC1"), ("AB", "C1")]),
    (f"15+{NOW}BSMAIN|AOinst|AALC1|ABC1|", "15", {"hold_mode": "+", "transaction_date": NOW},
     [("BS", "MAIN"), ("AO", "inst"), ("AA", "LC1"), ("AB", "C1")]),
    (f"35{NOW}AOinst|AALC1|", "35", {"transaction_date": NOW}, [("AO", "inst"), ("AA", "LC1")]),
    ("97", "97", {}, []),
    ("9300CNsc-1|COsecret", "93", {"uid_algorithm": "0", "pwd_algorithm": "0"},   # last "|" left out
     [("CN", "sc-1"), ("CO", "secret")]),
])
def test_requests_parse_into_fixed_and_variable_fields(raw, code, fixed, fields):
    for data, seq in ((raw.encode(), None), (with_trailer(raw, "7"), "7"), (raw.encode() + b"\r\n", None)):
        req = messages.parse(data)
        assert (req.code, req.fixed, list(req.fields), req.seq) == (code, fixed, fields, seq)


def test_the_trailer_gives_sequence_number_and_checksum():
    req = messages.parse(b"9900401.00AY1AZFCA5")
    assert (req.seq, req.checksum) == ("1", "FCA5")
    assert messages.parse(b"9900401.00AY1AZfca5").checksum == "FCA5"  # lower-case hex is accepted
    alone = messages.parse(b"9900401.00AZ" + messages.checksum(b"9900401.00AZ").encode())
    assert (alone.seq, alone.checksum) == (None, messages.checksum(b"9900401.00AZ"))
    assert messages.parse(b"9900401.00AY3").seq == "3"


def test_a_last_field_that_only_looks_like_a_trailer_is_a_field():
    req = messages.parse(f"17{NOW}AOi|AJJAZZ".encode())   # no final "|": some clients drop it
    assert req.get("AJ") == "JAZZ"


def test_get_answers_the_first_occurrence_and_a_default():
    req = messages.parse(f"23019{NOW}AOi|AALC1|AD|".encode())
    assert req.get("AA") == "LC1" and req.get("AD") == "" and req.has("AD")
    assert req.get("AE") is None and req.get("AE", "") == "" and not req.has("AE")


@pytest.mark.parametrize("raw, error, checked", [
    (b"9900401.00AY1AZAAAA", BadChecksum, True),
    (b"9900401.00AY2AZFCA5", BadChecksum, True),     # the sequence number is in the sum too
    (f"11YN{NOW}{NOW}AOi|AALC1|ABB1|AY1AZ123".encode(), Malformed, True),   # three digits: not a trailer
    (f"17{NOW}AOi|ABB1|AYAZFCA5".encode(), Malformed, True),   # no sequence number after AY
    (f"17{NOW}AOi|ABB1|AY12".encode(), Malformed, False),
    (b"9900401.00AZ12345", Malformed, True),
    (b"hello there", Malformed, False),
    (b"99003", Malformed, False),                    # too short for its fixed fields
    (f"37{NOW}01 00CNY".encode(), Malformed, False),  # fee paid: not supported
    (f"17{NOW}ab12|".encode(), Malformed, False),     # a field id is two capitals
    (b"\xff\xfe", Malformed, False),                  # not utf-8 (below)
    (b"", Malformed, False),
])
def test_what_is_not_a_request_is_refused_with_a_reason(raw, error, checked):
    with pytest.raises(error) as exc:
        messages.parse(raw, "utf-8")
    assert exc.value.checked is checked


def test_gb18030_field_with_a_pipe_byte_inside_a_character():
    name = "剕亅读者"  # both first characters end with byte 0x7C, the byte of "|"
    assert b"|" in name.encode("gb18030")
    raw = with_trailer(f"23019{NOW}AOinst|AA{name}|AD1|", encoding="gb18030")
    req = messages.parse(raw, "gb18030")
    assert req.get("AA") == name and req.get("AD") == "1"


# ---- formatting -----------------------------------------------------------------------

def test_request_sc_resend_with_and_without_checksum():
    resend = responses.REQUEST_SC_RESEND
    assert messages.encode(resend.code, resend.fixed, resend.fields, checked=True) == b"96AZFEF6\r"
    assert messages.encode(resend.code, resend.fixed, resend.fields) == b"96\r"


def test_encode_echoes_the_sequence_number_and_checksums_the_answer():
    out = messages.encode("94", ("0",), (), seq="0")
    assert out == b"940AY0AZFDFE\r"
    ok = messages.encode("94", ("1",), (), seq="5", checked=True)
    assert messages.checksum(ok[:-5]) == ok[-5:-1].decode()


def test_values_cannot_break_the_framing_and_missing_characters_become_question_marks():
    out = messages.encode("36", ("Y", NOW), (("AO", "a|b\rc"), ("AA", None), ("AF", "三体")))
    assert out == f"36Y{NOW}AOa b c|AF??|\r".encode()
    assert messages.encode("36", ("Y", NOW), (("AF", "三体"),), encoding="gb18030").endswith("AF三体|\r".encode("gb18030"))


@pytest.mark.parametrize("reply, code, fixed, tags", [
    (responses.login(True), "94", ("1",), []),
    (responses.acs_status(now=NOW, institution="inst", library_name="总馆", terminal="MAIN", message="hi"), "98",
     ("Y", "Y", "Y", "Y", "N", "Y", "100", "003", NOW, "2.00"), ["AO", "AM", "BX", "AN", "AF"]),
    (responses.patron_status(status=" " * 14, language="019", now=NOW, institution="i", card="LC1", name="读者",
                             valid=True, pin_ok=True), "24", (" " * 14, "019", NOW), ["AO", "AA", "AE", "BL", "CQ"]),
    (responses.patron_information(status=" " * 14, language="000", now=NOW, counts={"AU": 2, "CD": 1},
                                  institution="i", card="LC1", name="n", valid=True, pin_ok=None, charged_limit=10,
                                  lists={"AU": ["B1", "B2"], "AS": ["B9"]}, message="m"), "64",
     (" " * 14, "000", NOW, "0000", "0000", "0002", "0000", "0000", "0001"),
     ["AO", "AA", "AE", "CB", "BL", "AS", "AU", "AU", "AF"]),
    (responses.item_information(circulation_status="04", now=NOW, barcode="B1", title="三体", hold_queue=0,
                                due="20250331    235959", media_type="001", permanent_location="MAIN",
                                current_location="K-001"), "18", ("04", "00", "01", NOW),
     ["CF", "AH", "AB", "AJ", "CK", "AQ", "AP"]),
    (responses.checkout(ok=True, now=NOW, institution="i", card="LC1", barcode="B1", title="t", due="d",
                        transaction_id="L1", media_type="001"), "12", ("1", "N", "N", "Y", NOW),
     ["AO", "AA", "AB", "AJ", "AH", "CK", "BK"]),
    (responses.checkout(ok=False, now=NOW, institution="i", card="LC1", barcode="B1", message="no"), "12",
     ("0", "N", "N", "N", NOW), ["AO", "AA", "AB", "AJ", "AH", "AF"]),
    (responses.checkin(ok=True, alert=True, now=NOW, institution="i", barcode="B1", permanent_location="MAIN",
                       title="t", message="hold"), "10", ("1", "Y", "N", "Y", NOW), ["AO", "AB", "AQ", "AJ", "AF"]),
    (responses.renew(ok=True, now=NOW, institution="i", card="LC1", barcode="B1", due="d"), "30",
     ("1", "Y", "N", "Y", NOW), ["AO", "AA", "AB", "AJ", "AH"]),
    (responses.hold(ok=True, available=False, now=NOW, institution="i", card="LC1", position=2, pickup="MAIN",
                    title="t"), "16", ("1", "N", NOW), ["BR", "BS", "AO", "AA", "AJ"]),
    (responses.end_session(ended=True, now=NOW, institution="i", card="LC1"), "36", ("Y", NOW), ["AO", "AA"]),
])
def test_responses_have_their_fields_in_the_standards_order(reply, code, fixed, tags):
    assert (reply.code, reply.fixed, fields_of(reply)) == (code, fixed, tags)
    out = messages.encode(reply.code, reply.fixed, reply.fields, encoding="gb18030", seq="1")
    assert out.startswith((code + "".join(fixed)).encode("gb18030")) and out.endswith(b"\r")


def test_supported_messages_and_patron_status_positions():
    assert responses.supported_messages() == "YYYNYYYYYNYNNYYN"
    assert len(responses.supported_messages()) == 16
    status = responses.patron_status_text({"charge privileges denied", "too many items overdue"})
    assert status == "Y     Y       " and len(status) == 14
    assert responses.patron_status_text(responses.DENIED) == "YYYY          "
    with pytest.raises(ValueError):
        responses.patron_status_text({"grumpy"})


# ---- dates ----------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("20250301    093000", datetime(2025, 3, 1, 9, 30, tzinfo=SHANGHAI)),
    ("20250301   Z013000", datetime(2025, 3, 1, 1, 30, tzinfo=timezone.utc)),
    ("20250301 UTC013000", datetime(2025, 3, 1, 1, 30, tzinfo=timezone.utc)),
    (" " * 18, None),
    ("2025030", None),
    ("20251301    093000", None),
])
def test_sip_dates_read(text, expected):
    assert messages.parse_sip_date(text, SHANGHAI) == expected


def test_sip_dates_written_in_local_time():
    moment = datetime(2025, 3, 1, 1, 30, tzinfo=timezone.utc)
    assert messages.sip_date(moment, SHANGHAI) == "20250301    093000"
    assert messages.sip_day("2025-03-31", SHANGHAI) == "20250331    235959"
    assert messages.sip_day(date(2025, 3, 31), SHANGHAI) == "20250331    235959"
    assert messages.sip_day(None, SHANGHAI) is None


# ---- reading off a stream -------------------------------------------------------------

def feeder(*chunks: bytes):
    pending = list(chunks)
    return lambda _size: pending.pop(0) if pending else b""


@pytest.mark.parametrize("chunks, expected", [
    ([b"9900302.00\r"], [b"9900302.00"]),
    ([b"99003", b"02.00\r\n9300CNa|\r"], [b"9900302.00", b"9300CNa|"]),   # split, and \r\n
    ([b"\r\n\r97\r"], [b"97"]),                                          # empty lines are ignored
    ([b"x" * 30, b"x" * 30, b"\r97\r"], [None, b"97"]),                  # too long: skipped, said once
    ([b"x" * 40 + b"\r97\r"], [None, b"97"]),
    ([b"97"], []),                                                       # unfinished at EOF
])
def test_frames_split_on_carriage_return_and_limit_the_size(chunks, expected):
    assert list(messages.frames(feeder(*chunks), limit=32)) == expected


# ---- account passwords ------------------------------------------------------------------

def test_passwords_are_stored_salted_and_checked():
    password = accounts.new_password()
    stored = accounts.hash_password(password)
    assert stored.startswith("scrypt$") and password not in stored
    assert passwords.parse_hash(stored)                                 # the suite's one helper made it
    assert accounts.hash_password(password) != stored                   # a new salt each time
    assert accounts.verify_password(password, stored)
    assert not accounts.verify_password(password + "x", stored)
    assert not accounts.verify_password(password, "plain-text")
    assert "|" not in password and len(password) >= 16
