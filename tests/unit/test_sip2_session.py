"""What a SIP2 connection does before a login, free of the store: nothing there is looked up."""
from zoneinfo import ZoneInfo

import pytest

from services.library.sip2 import messages
from services.library.sip2.session import BAD_IN_A_ROW, Options, Session, before_login

NOW = "20261207    101500"


def session(mode: str) -> Session:
    return Session(None, Options(institution="inst", tz=ZoneInfo("Asia/Shanghai"), before_login=mode))


def test_a_transaction_before_login_is_refused_in_its_own_response_type():
    s = session("refuse")
    out = s.handle(f"17{NOW}AOinst|ABB1|AY3AZ".encode() + messages.checksum(f"17{NOW}AOinst|ABB1|AY3AZ".encode())
                   .encode())
    assert out.startswith(b"18") and b"not signed in" in out and b"AY3AZ" in out and s.open
    assert out[-5:-1] == messages.checksum(out[:-5]).encode()


def test_a_machine_that_never_logs_in_is_let_go_after_a_while():
    s = session("refuse")
    answers = [s.handle(f"17{NOW}AOinst|ABB1|".encode()) for _ in range(BAD_IN_A_ROW + 1)]
    assert all(a and a.startswith(b"18") for a in answers[:BAD_IN_A_ROW])
    assert answers[-1] is None and not s.open


def test_a_site_may_choose_to_hang_up_instead():
    s = session("close")
    assert s.handle(f"17{NOW}AOinst|ABB1|".encode()) is None and not s.open


@pytest.mark.parametrize("value, expected", [("refuse", "refuse"), (" CLOSE ", "close")])
def test_the_setting_is_read_plainly(value, expected):
    assert before_login(value) == expected


def test_a_wrong_setting_stops_the_start():
    with pytest.raises(ValueError, match="SIP2_BEFORE_LOGIN"):
        before_login("ignore")
