"""The demo pilot school of the e-schoolbag (电子书包): one class, its teacher, two pupils, and the
demo resident 张伟 as the guardian of one of them, with a school card holding 50 yuan and one
assignment, so that a new user sees the pilots at once in the portal (``/family``).

Loaded through the same OneRoster import an operator uses (``suite import roster``), from a
folder written here; loading twice adds nothing twice (the roster is upserted by sourcedId,
the assignment and the top-up are looked for first).

The school has a canteen terminal (``demo-canteen``) whose signing key is kept in
``var/demo-school-terminal.key`` (made once; ``suite school demo`` shows it), so a new user can
send signed charges as a terminal would. Its people sign in at ``/school/login`` by codes
``suite school code`` issues (the teacher: ``demo-teacher-wang``; a pupil once 张伟 has
consented in ``/family``), as no identity provider runs on one machine.
"""
from __future__ import annotations

import io
import os
import tempfile
from datetime import date, timedelta
from pathlib import Path

from nameko.exceptions import RemoteError

from infra.imports.roster import import_roster
from services.elearning import terminals

SCHOOL, CLASS, TEACHER, PUPIL, CLASSMATE, GUARDIAN = ("demo-school", "demo-class-3-2", "demo-teacher-wang",
                                                      "demo-pupil-zhang", "demo-pupil-li", "demo-guardian-zhang")
ASSIGNMENT = "口算练习（第三页）"
TOP_UP_REQUEST = "demo-school-card-first-top-up"
TERMINAL, TERMINAL_KEY_FILE = "demo-canteen", "demo-school-terminal.key"
USERS = ("sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,"
         "middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,metadata.idNumber")


def write_roster(folder: Path, guardian_id_number: str, today: date) -> None:
    files = {
        "manifest": "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.demographics,absent\n",
        "orgs": "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
                f"{SCHOOL},,,浦东新区梅园小学（电子书包试点）,school,DEMO-001,\n",
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


def seed(rpc, guardian_id_number: str, today: date, var_dir: str | None = None) -> dict:
    """The school, its assignment and the card's first top-up (each once); with ``var_dir``,
    its canteen terminal and the terminal's key kept there."""
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
    terminal = seed_terminal(rpc, Path(var_dir)) if var_dir else None
    return {"school": SCHOOL, "pupils": 2, "rows": imported, "terminal": terminal, "teacher": TEACHER,
            "pupil": PUPIL}


def seed_terminal(rpc, var: Path) -> str:
    """The canteen terminal, its key made once and kept in ``var`` (readable by its owner only);
    a terminal registered without a kept key (var/ was emptied) gets a new one."""
    kept = var / TERMINAL_KEY_FILE
    if kept.exists():
        return TERMINAL
    key = terminals.new_key()
    try:
        rpc.elearning.wallet_register_terminal(TERMINAL, SCHOOL, "canteen", key, False)
    except RemoteError as exc:
        if exc.exc_type != "Conflict":
            raise
        rpc.elearning.wallet_register_terminal(TERMINAL, SCHOOL, "canteen", key, True)
    var.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(key + "\n")
    return TERMINAL


def terminal_key(var_dir: str) -> str | None:
    kept = Path(var_dir) / TERMINAL_KEY_FILE
    return kept.read_text(encoding="utf-8").strip() if kept.exists() else None
