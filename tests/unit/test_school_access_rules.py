"""The e-schoolbag's sign-in and children's-data rules, and its file checks, without a broker
or a store: codes as people type them, who counts as under 14, what a teacher is shown, when a
session is live, when wrong codes stop a terminal, what a file must be."""
from datetime import datetime, timedelta, timezone

import pytest

from services.common.errors import BadInput, RateLimited
from services.elearning import school_access as rules
from services.elearning import school_files

NOW = datetime(2026, 12, 8, 1, 0, tzinfo=timezone.utc)


def test_codes_as_people_type_them():
    code = rules.new_code()
    assert len(code) == 8 and set(code) <= set(rules.ALPHABET)
    assert rules.normal_code(" " + rules.shown(code).lower() + " ") == code
    for bad in ("", "ABCD-234", "ABCD-23456", "ABCD-0O1I", None, 12345678, "x" * 40):
        with pytest.raises(BadInput):
            rules.normal_code(bad)
    assert rules.digest(code) != rules.digest(rules.new_code()) and code not in rules.digest(code)


def test_a_code_lives_thirty_minutes_and_ten_wrong_tries_stop_a_terminal():
    record = rules.code_record("ABCD2345", {"_id": "u1", "role": "student"}, {"role": "operator", "id": "op"}, NOW)
    assert not rules.expired(record, NOW + timedelta(minutes=29))
    assert rules.expired(record, NOW + timedelta(minutes=30))
    rules.check_wrong_count(rules.WRONG_PER_HOUR - 1)
    with pytest.raises(RateLimited):
        rules.check_wrong_count(rules.WRONG_PER_HOUR)


@pytest.mark.parametrize("grade, under_14", [("03", True), ("3", True), ("09", True), (None, True), ("", True),
                                             ("10", False), ("12", False)])
def test_who_is_presumed_under_14(grade, under_14):
    assert rules.presumed_under_14({"grade": grade}) is under_14


def test_a_child_is_named_to_teachers_only_with_consent():
    child = {"name": "张小明", "grade": "03"}
    assert not rules.consented(child) and rules.name_for_teacher(child) == rules.PLACEHOLDER
    assert rules.name_for_teacher({**child, "consent": {"by": "r1", "at": "x"}}) == "张小明"
    assert rules.name_for_teacher({"name": "高中生", "grade": "11"}) == "高中生"


def test_a_session_ends_idle_or_old():
    session_id, session = rules.new_session({"_id": "t1", "role": "teacher"}, "code", NOW)
    assert session["_id"] == rules.session_key(session_id) and session_id not in str(session)
    assert rules.live(session, NOW + timedelta(minutes=29))
    assert not rules.live(session, NOW + timedelta(minutes=31))
    assert not rules.live({**session, **rules.touched(NOW + timedelta(hours=7, minutes=50))}, NOW + timedelta(hours=8))
    assert not rules.live(None, NOW)


def test_files_are_what_their_content_says():
    png, pdf = b"\x89PNG\r\n\x1a\n" + b"\0" * 8, b"%PDF-1.4\n"
    assert school_files.check("作业.PNG", "image/png", png).content_type == "image/png"
    assert school_files.check("C:\\work\\作业.pdf", "", pdf).name == "作业.pdf"
    for name, kind, data in (("a.png", "image/png", pdf), ("a.pdf", "application/pdf", png), ("a.gif", "", b"GIF89a"),
                             ("a.png", "image/png", b""), ("a.pdf", "", pdf + b"\0" * school_files.MAX_BYTES),
                             ("", "", pdf)):
        with pytest.raises(BadInput):
            school_files.check(name, kind, data)
    with pytest.raises(BadInput):
        school_files.check_all([{}] * (school_files.MAX_FILES + 1))
