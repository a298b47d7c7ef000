"""OneRoster 1.1 CSV rows to e-schoolbag roster records: the mapping (no broker, no store),
and the import's file reading and flow against stand-in services."""
from __future__ import annotations

import json

import pytest
from nameko.exceptions import RemoteError
from pydantic import ValidationError

from infra.imports.files import ImportFileError
from infra.imports.roster import import_roster, roster_rows
from services.elearning import roster
from services.elearning.roster import GuardianRow, RosterRowError
from support import id_number

USERS_HEADER = ("sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,"
                "familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password")


def user(**fields) -> dict:
    row = {c: "" for c in USERS_HEADER.split(",")}
    row.update({"sourcedId": "u1", "orgSourcedIds": "s1", "role": "student", "givenName": "小明",
                "familyName": "张"})
    row.update(fields)
    return row


# --- rows to records ---------------------------------------------------------------------

def test_org_session_and_class():
    org = roster.map_org({"sourcedId": "s1", "status": "", "name": "实验小学", "type": "school",
                          "identifier": "310101-01", "parentSourcedId": "d1"})
    assert org.model_dump() == {"sourced_id": "s1", "kind": "org", "name": "实验小学", "type": "school",
                                "identifier": "310101-01", "parent_id": "d1"}
    session = roster.map_session({"sourcedId": "t1", "title": "2026学年第一学期", "type": "semester",
                                  "startDate": "2026-09-01", "endDate": "2027-01-20", "schoolYear": "2027"})
    assert (session.start_date.isoformat(), session.school_year) == ("2026-09-01", "2027")
    klass = roster.map_class({"sourcedId": "c1", "title": "三年级(2)班", "schoolSourcedId": "s1",
                              "classType": "homeroom", "grades": "03", "termSourcedIds": "t1,t2",
                              "subjects": "语文,数学", "classCode": "3-2"})
    assert (klass.class_type, klass.grades, klass.term_ids, klass.subjects) == (
        "homeroom", ["03"], ["t1", "t2"], ["语文", "数学"])
    assert roster.map_class({"sourcedId": "c2", "title": "数学", "schoolSourcedId": "s1"}).class_type == "scheduled"


@pytest.mark.parametrize("mapper, row, reason", [
    (roster.map_org, {"sourcedId": "s1", "name": "x", "type": "castle"}, "type must be one of"),
    (roster.map_org, {"sourcedId": "", "name": "x", "type": "school"}, "sourcedId is empty"),
    (roster.map_session, {"sourcedId": "t", "title": "x", "type": "term", "startDate": "2026-09-01",
                          "endDate": "2026-08-01"}, "endDate is before startDate"),
    (roster.map_session, {"sourcedId": "t", "title": "x", "type": "term", "startDate": "1/9/2026",
                          "endDate": "2026-08-01"}, "startDate is not a date"),
    (roster.map_class, {"sourcedId": "c", "title": "x", "schoolSourcedId": "s", "classType": "club"},
     "classType must be homeroom or scheduled"),
    (roster.map_class, {"sourcedId": "c", "title": "", "schoolSourcedId": "s"}, "title is empty"),
    (roster.map_enrollment, {"sourcedId": "e", "classSourcedId": "c", "userSourcedId": "u", "role": "guardian"},
     "enrollment role 'guardian' is not used"),
    (roster.map_enrollment, {"sourcedId": "e", "classSourcedId": "c", "userSourcedId": "u", "role": "student",
                             "status": "maybe"}, "status must be active or tobedeleted"),
])
def test_bad_rows_say_why(mapper, row, reason):
    with pytest.raises(RosterRowError) as err:
        mapper(row)
    assert reason in str(err.value)


def test_a_student_keeps_only_name_grade_and_school():
    number = id_number(birth="20150301")
    record, agents = roster.map_user(user(identifier=number, email="kid@example.cn", phone="13800000000",
                                          sms="13800000000", username="zxm", password="secret", grades="03,04",
                                          agentSourcedIds="g1, g2", **{"metadata.idNumber": number}))
    assert record.model_dump() == {"sourced_id": "u1", "kind": "student", "name": "张小明", "grade": "03",
                                   "school_ids": ["s1"], "enabled": True}
    assert number not in json.dumps(record.model_dump(mode="json"), ensure_ascii=False)
    assert agents == ["g1", "g2"]
    # and the service refuses a student record that carries more than that
    with pytest.raises(ValidationError):
        roster.parse_record({**record.model_dump(mode="json"), "id_number": number})


def test_teacher_and_names():
    record, agents = roster.map_user(user(role="teacher", givenName="Ana", familyName="Lima", enabledUser="false"))
    assert (record.kind, record.name, record.enabled, agents) == ("teacher", "Ana Lima", False, [])
    assert roster.display_name("小红", "李") == "李小红"
    assert roster.display_name("", "欧阳") == "欧阳"


@pytest.mark.parametrize("role", ["guardian", "parent"])
def test_guardian_id_number_from_metadata_column_else_identifier(role):
    meta, ident = id_number(), id_number()
    record, agents = roster.map_user(user(sourcedId="g1", role=role, givenName="伟", familyName="张",
                                          identifier=ident, agentSourcedIds="u1",
                                          **{"metadata.idNumber": meta}))
    assert isinstance(record, GuardianRow) and record.id_number == meta and agents == ["u1"]
    record, _ = roster.map_user(user(sourcedId="g1", role=role, identifier=ident.lower()))
    assert record.id_number == ident.upper()
    resolved = record.resolved("r-1").model_dump()
    assert resolved["resident_id"] == "r-1" and "id_number" not in resolved


def test_guardian_without_a_valid_id_number_is_rejected_without_echoing_it():
    with pytest.raises(RosterRowError, match="needs their resident ID number"):
        roster.map_user(user(role="guardian"))
    with pytest.raises(RosterRowError) as err:
        roster.map_user(user(role="guardian", identifier="110105194912310021"))
    assert "invalid" in str(err.value) and "110105194912310021" not in str(err.value)


def test_other_roles_and_deletions():
    with pytest.raises(RosterRowError, match="role 'administrator' is not used"):
        roster.map_user(user(role="administrator"))
    record, _ = roster.map_user(user(status="tobedeleted", role="", givenName="", familyName=""))
    assert record.model_dump() == {"sourced_id": "u1", "kind": "delete", "file": "users"}
    assert roster.map_enrollment({"sourcedId": "e1", "status": "tobedeleted"}).file == "enrollments"


def test_links_from_both_sides_once_on_disk_not_in_memory():
    from infra.imports.file_memory import FileMemory
    with FileMemory("links") as declared:
        assert [declared.add("links", key, line) for key, line in [("u1|g1", 2), ("u1|g1", 5), ("u2|g1", 5)]] \
            == [True, False, True]
        assert list(declared.items("links")) == [("u1|g1", 2), ("u2|g1", 5)] and declared.count("links") == 2
        assert declared.get("links", "u1|g1") == 2 and declared.get("links", "u3|g1") is None


def test_map_keys_are_safe_and_reversible():
    for value in ["a.b", "$x", "50%.$", "teacher:t-1"]:
        key = roster.map_key(value)
        assert "." not in key and not key.startswith("$") and roster.unmap_key(key) == value


def test_records_round_trip_through_the_rpc_payload():
    for record in [roster.map_org({"sourcedId": "s1", "name": "x", "type": "school"}),
                   roster.map_enrollment({"sourcedId": "e1", "classSourcedId": "c1", "userSourcedId": "u1",
                                          "role": "teacher", "beginDate": "2026-09-01"}),
                   roster.LinkRecord(student_id="u1", guardian_id="g1")]:
        assert roster.parse_record(record.model_dump(mode="json")) == record


# --- reading the files and the import's flow -------------------------------------------------

def test_header_must_carry_the_required_columns(tmp_path):
    path = tmp_path / "orgs.csv"
    path.write_text("\ufeffsourcedId,name\ns1,x\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="lacks type"):
        list(roster_rows(path, roster.FILES["orgs"]))
    path.write_text("\ufeffsourcedId,name,type\ns1,x\ns2,y,school\n\n", encoding="utf-8")
    assert list(roster_rows(path, roster.FILES["orgs"])) == [
        (2, "expected 3 fields, found 2"), (3, {"sourcedId": "s2", "name": "y", "type": "school"})]


class _Method:
    def __init__(self, fn):
        self.fn = fn

    def __call__(self, *args):
        return self.fn(*args)


class FakeRpc:
    """The two services as the import sees them."""

    def __init__(self, residents: dict):
        self.sent: list[dict] = []

        def find_resident(number):
            if number not in residents:
                raise RemoteError("NotFound", "no resident with this ID number")
            return {"resident_id": residents[number]}

        def roster_import(batch):
            self.sent.extend(batch)
            return {"imported": len(batch), "rejected": []}

        self.community = type("C", (), {"find_resident": _Method(find_resident)})()
        self.elearning = type("E", (), {"roster_import": _Method(roster_import)})()


def test_import_flow_order_guardians_and_links(tmp_path):
    known, unknown = id_number(), id_number()
    (tmp_path / "orgs.csv").write_text("sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
                                       "s1,,,实验小学,school,,\n", encoding="utf-8")
    (tmp_path / "users.csv").write_text(
        USERS_HEADER + ",metadata.idNumber\n"
        f"u1,,,true,s1,student,,,小明,张,,{id_number(birth='20150301')},,,,g1,03,,\n"
        f"g1,,,true,s1,parent,,,伟,张,,,,,,u1,,,{known}\n"
        f"g2,,,true,s1,guardian,,,芳,王,,{unknown},,,,u1,,,\n"
        "a1,,,true,s1,administrator,,,主任,李,,,,,,,,,\n", encoding="utf-8")
    rpc = FakeRpc({known: "r-known"})
    imported, rejected = import_roster(rpc, tmp_path)
    kinds = [r["kind"] for r in rpc.sent]
    assert kinds == ["org", "student", "guardian", "link"]
    assert rpc.sent[2]["resident_id"] == "r-known" and known not in json.dumps(rpc.sent)
    assert rpc.sent[3] == {"kind": "link", "student_id": "u1", "guardian_id": "g1"}
    assert imported == 4
    assert [where for where, _ in rejected] == ["4 of users.csv", "4 of users.csv", "5 of users.csv"]
    reasons = [reason for _, reason in rejected]
    assert "guardians must be registered residents" in reasons[0]
    assert reasons[1] == "link u1 - g2 not made: g2 was rejected (line 4 of users.csv)"
    assert "administrator" in reasons[2]
    assert unknown not in " ".join(reasons)


def test_import_refuses_a_folder_without_roster_files(tmp_path):
    with pytest.raises(ImportFileError, match="no OneRoster file"):
        import_roster(FakeRpc({}), tmp_path)


def test_a_session_or_enrollment_that_ends_before_it_starts_and_a_guardian_id_with_a_comma_are_refused():
    from datetime import date

    from services.elearning.roster import EnrollmentRecord, GuardianRecord, SessionRecord
    term = {"sourced_id": "t1", "title": "2026秋", "type": "term", "start_date": date(2026, 9, 1),
            "end_date": date(2027, 1, 20)}
    assert SessionRecord(**term).end_date == date(2027, 1, 20)
    enrol = {"sourced_id": "e1", "class_id": "c1", "user_id": "u1", "role": "student"}
    assert EnrollmentRecord(**enrol, begin_date=date(2026, 9, 1)).end_date is None
    with pytest.raises(ValidationError, match="before"):
        SessionRecord(**{**term, "end_date": date(2026, 8, 1)})
    with pytest.raises(ValidationError, match="before"):
        EnrollmentRecord(**enrol, begin_date=date(2026, 9, 1), end_date=date(2026, 8, 31))
    with pytest.raises(ValidationError):   # the wallet refuses such ids: every later link would fail
        GuardianRecord(sourced_id="g1", resident_id="r1,r2", name="王芳", school_ids=["s1"])
