"""The demo pilot school of the e-schoolbag (电子书包): one class, its teacher, two pupils, and the
demo resident 张伟 as the guardian of one of them, with a school card holding 50 yuan and one
assignment, so that a new user sees the pilots at once in the portal (``/family``).

Loaded through the same OneRoster import an operator uses (``suite import roster``), from a
folder written here; loading twice adds nothing twice (the roster is upserted by sourcedId,
the assignment and the top-up are looked for first).
"""
from __future__ import annotations

import io
import tempfile
from datetime import date, timedelta
from pathlib import Path

from infra.imports.roster import import_roster

SCHOOL, CLASS, TEACHER, PUPIL, CLASSMATE, GUARDIAN = ("demo-school", "demo-class-3-2", "demo-teacher-wang",
                                                      "demo-pupil-zhang", "demo-pupil-li", "demo-guardian-zhang")
ASSIGNMENT = "口算练习（第三页）"
TOP_UP_REQUEST = "demo-school-card-first-top-up"
USERS = ("sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,"
         "middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,metadata.idNumber")


def write_roster(folder: Path, guardian_id_number: str, today: date) -> None:
    files = {
        "manifest": "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.demographics,absent\n",
        "orgs": "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
                f"{SCHOOL},,,龙华实验小学（电子书包试点）,school,DEMO-001,\n",
        "academicSessions": "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,"
                            "schoolYear\n"
                            f"demo-term,,,本学期,semester,{today - timedelta(days=60)},{today + timedelta(days=120)},,"
                            f"{today.year}\n",
        "classes": "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,"
                   "schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\n"
                   f"{CLASS},,,三年级(2)班,03,,3-2,homeroom,,{SCHOOL},demo-term,,,\n",
        "users": USERS + "\n"
                 f"{TEACHER},,,true,{SCHOOL},teacher,,,老师,王,,,,,,,,,\n"
                 f"{PUPIL},,,true,{SCHOOL},student,,,小明,张,,,,,,{GUARDIAN},03,,\n"
                 f"{CLASSMATE},,,true,{SCHOOL},student,,,小红,李,,,,,,,03,,\n"
                 f"{GUARDIAN},,,true,{SCHOOL},parent,,,伟,张,,,,,,{PUPIL},,,{guardian_id_number}\n",
        "enrollments": "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,"
                       "beginDate,endDate\n"
                       f"demo-e1,,,{CLASS},{SCHOOL},{TEACHER},teacher,true,,\n"
                       f"demo-e2,,,{CLASS},{SCHOOL},{PUPIL},student,,,\n"
                       f"demo-e3,,,{CLASS},{SCHOOL},{CLASSMATE},student,,,\n",
    }
    for name, text in files.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")


def seed(rpc, guardian_id_number: str, today: date) -> dict:
    """The school, its assignment and the card's first top-up (each once)."""
    with tempfile.TemporaryDirectory(prefix="demo-school-") as folder:
        write_roster(Path(folder), guardian_id_number, today)
        imported, rejected = import_roster(rpc, Path(folder), report=io.StringIO())
    if rejected:
        raise RuntimeError(f"the demo school's roster was refused: {rejected[:3]}")
    if not any(a["title"] == ASSIGNMENT for a in rpc.elearning.assignments_for_student(PUPIL)):
        rpc.elearning.publish_assignment(TEACHER, CLASS, ASSIGNMENT, "完成课本第三页的口算题，明天交。",
                                         f"{today + timedelta(days=1)}T20:00:00+08:00")
    # idempotent by its request id: a second seed credits nothing
    rpc.elearning.wallet_staff_top_up({"role": "teacher", "id": TEACHER}, PUPIL, 5000, "演示：学校财务室现金充值",
                                      TOP_UP_REQUEST)
    return {"school": SCHOOL, "pupils": 2, "rows": imported}
