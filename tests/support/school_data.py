"""A small OneRoster school (two classes, pupils, guardians matched to residents), shared by
the e-schoolbag service tests and the gateway's guardian tests."""
from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass

import pytest

from infra.imports.roster import import_roster
from infra.local import demo_data
from services.community.service import CommunityService
from services.elearning.service import ElearningService
from support import id_number

USERS_HEADER = ("sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,"
                "familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,metadata.idNumber")


@dataclass
class School:
    """One imported school; ids are sourcedIds, guardians are resident ids."""
    ids: dict
    residents: dict
    pupil_id_numbers: list
    result: tuple
    path: object
    elearning_url: str = ""   # the elearning service's HTTP address (terminals, the payment provider)

    def __getattr__(self, name):
        try:
            return self.ids[name]
        except KeyError:
            raise AttributeError(name) from None


def register(rpc, name: str) -> tuple[str, str]:
    number = id_number()
    resident = rpc.community.register_resident({
        "id_number": number, "name": name, "phone": "13900000000", "registered_committee": "C0101",
        "residence_committee": "C0101", "address": "龙华路1号"})
    return number, resident["resident_id"]


def write_roster(path, ids: dict, guardian_numbers: dict, pupil_numbers: list) -> None:
    i = ids
    (path / "manifest.csv").write_text("propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\n"
                                       "file.demographics,absent\n", encoding="utf-8")
    (path / "orgs.csv").write_text(
        "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
        f"{i['district']},,,浦东新区教育局,district,,\n"
        f"{i['school']},,,梅园小学,school,XH-001,{i['district']}\n", encoding="utf-8")
    (path / "academicSessions.csv").write_text(
        "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n"
        f"{i['term']},,,2026学年第一学期,semester,2026-09-01,2027-01-20,,2027\n", encoding="utf-8")
    (path / "classes.csv").write_text(
        "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,"
        "schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n"
        f"{i['c1']},,,三年级(2)班,03,,3-2,homeroom,,{i['school']},{i['term']},,,\n"
        f"{i['c2']},,,三年级数学,03,,3-M,scheduled,,{i['school']},{i['term']},数学,,\n"
        f"{i['c3']},,,四年级(1)班,04,,4-1,homeroom,,{i['school']},{i['term']},,,\n", encoding="utf-8")
    g = guardian_numbers
    (path / "users.csv").write_text(
        USERS_HEADER + "\n"
        f"{i['t1']},,,true,{i['school']},teacher,,,老师,王,,,wang@school.cn,,,,,,\n"
        f"{i['t2']},,,true,{i['school']},teacher,,,老师,赵,,,,,,,,,\n"
        # a pupil names their guardians; their ID number in the file is never stored
        f"{i['u1']},,,true,{i['school']},student,,,小明,张,,{pupil_numbers[0]},,,,{i['g1']},03,,{pupil_numbers[0]}\n"
        f"{i['u2']},,,true,{i['school']},student,,,小红,李,,,,,,,03,,\n"
        f"{i['u3']},,,true,{i['school']},student,,,小刚,陈,,,,,,,04,,\n"
        f"{i['g1']},,,true,{i['school']},parent,,,伟,张,,{g['A']},,,,{i['u1']},,,\n"
        # a guardian names their children; the ID number here is in metadata.idNumber
        f"{i['g2']},,,true,{i['school']},guardian,,,芳,王,,,,,,{i['u1']},,,{g['B']}\n"
        f"{i['g3']},,,true,{i['school']},guardian,,,强,李,,{g['C']},,,,{i['u2']},,,\n"
        f"{i['g4']},,,true,{i['school']},guardian,,,敏,吴,,{g['unknown']},,,,{i['u3']},,,\n"
        f"{i['admin']},,,true,{i['school']},administrator,,,校长,周,,,,,,,,,\n", encoding="utf-8")
    (path / "enrollments.csv").write_text(
        "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,"
        "beginDate,endDate\n"
        f"{i['e1']},,,{i['c1']},{i['school']},{i['t1']},teacher,true,,\n"
        f"{i['e2']},,,{i['c2']},{i['school']},{i['t1']},teacher,true,,\n"
        f"{i['e3']},,,{i['c3']},{i['school']},{i['t2']},teacher,true,,\n"
        f"{i['e4']},,,{i['c1']},{i['school']},{i['u1']},student,,,\n"
        f"{i['e5']},,,{i['c2']},{i['school']},{i['u1']},student,,,\n"
        f"{i['e6']},,,{i['c1']},{i['school']},{i['u2']},student,,,\n"
        f"{i['e7']},,,{i['c3']},{i['school']},{i['u3']},student,,,\n"
        f"{i['e8']},,,nope-{i['c1']},{i['school']},{i['u3']},student,,,\n"
        f"{i['e9']},,,{i['c1']},{i['school']},{i['u3']},teacher,,,\n", encoding="utf-8")


@pytest.fixture
def school(start_service, rpc, tmp_path):
    start_service(CommunityService)
    elearning = start_service(ElearningService)
    rpc.community.upsert_places(demo_data.PLACES)
    made = make_school(rpc, tmp_path)
    made.elearning_url = "http://" + elearning.config["WEB_SERVER_ADDRESS"]
    return made


def make_school(rpc, path, report=sys.stderr) -> School:
    """The school imported through the running services (the fixture's; also the gateway
    benchmark's); ``report``: where the import's progress goes."""
    tag = uuid.uuid4().hex[:8]
    names = ["district", "school", "term", "c1", "c2", "c3", "t1", "t2", "u1", "u2", "u3", "g1", "g2", "g3", "g4",
             "admin", *[f"e{n}" for n in range(1, 10)]]
    ids = {n: f"{n}-{tag}" for n in names}
    numbers, residents = {}, {}
    for key, name in [("A", "张伟"), ("B", "王芳"), ("C", "李强"), ("stranger", "刘洋")]:
        numbers[key], residents[key] = register(rpc, name)
    numbers["unknown"] = id_number()
    pupil_numbers = [id_number(birth="20160512")]
    write_roster(path, ids, numbers, pupil_numbers)
    result = import_roster(rpc, path, report=report)
    return School(ids, residents, pupil_numbers, result, path)
