"""Teachers and pupils signing in to the e-schoolbag, against the store: codes issued and
used, sessions opened, read and closed, teachers' identity links, a child's view opened by a
guardian. The rules (code shape, expiry, tries, consent, session life) are in ``school_access``.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo.database import Database

from services.common.errors import BadInput, Forbidden, NotFound
from services.elearning import classroom, school_access, school_access_store
from services.elearning.schoolbag import _guardian_doc, _id, _user

PEOPLE = {"student": "pupil", "teacher": "teacher"}
NO_CONSENT = "未满14周岁的学生需监护人在“孩子”页面同意后才能登录 (a pupil under 14 needs a guardian's consent first)"


def _person(db: Database, user_id: str) -> dict:
    user = school_access_store.user(db, user_id)
    if user is None or user["role"] not in PEOPLE or not user.get("active", True):
        raise NotFound(f"no pupil or teacher {user_id}")
    return user


def issue_code(db: Database, issuer: Any, user_id: Any, now: datetime) -> dict:
    """A code for a pupil (by a teacher of their class, or the operator) or a teacher (the
    operator only); a pupil under 14 only with consent. The code itself is answered once."""
    if not isinstance(issuer, dict) or issuer.get("role") not in ("teacher", "operator") or \
            not isinstance(issuer.get("id"), str):
        raise BadInput("issuer must be {'role': 'teacher' | 'operator', 'id': ...}")
    user = _person(db, _id(user_id, "user_id"))
    if issuer["role"] == "teacher":
        if user["role"] != "student":
            raise Forbidden("a teacher issues codes to pupils only")
        classroom.pupil_of_teacher(db, issuer["id"], user["_id"])
    if user["role"] == "student" and not school_access.consented(user):
        raise Forbidden(NO_CONSENT)
    code = school_access.new_code()
    record = school_access.code_record(code, user, {"role": issuer["role"], "id": issuer["id"]}, now)
    school_access_store.save_code(db, record)
    return {"code": school_access.shown(code), "user_id": user["_id"], "role": PEOPLE[user["role"]],
            "name": user["name"], "expires_at": record["expires_at"]}


def sign_in_by_code(db: Database, code: Any, source: Any, now: datetime) -> dict:
    """A session for the code's person; a wrong, used or expired code counts against ``source``
    (the terminal's address) for the hour."""
    key = f"from:{str(source)[:64]}|{school_access.hour_bucket(now)}"
    school_access.check_wrong_count(school_access_store.wrong_so_far(db, key))
    digest = school_access.digest(school_access.normal_code(code))
    record = school_access_store.code(db, digest)
    # spent either way: a good code signs in once, an expired one never again
    if record is None or not school_access_store.spend_code(db, digest) or school_access.expired(record, now):
        school_access_store.count_wrong(db, key, school_access.stamp(now + timedelta(hours=1)))
        raise NotFound(school_access.WRONG_CODE)
    return open_session(db, record["user_id"], "code", now)


def open_session(db: Database, user_id: str, via: str, now: datetime, guardian: str | None = None) -> dict:
    user = _person(db, user_id)
    if user["role"] == "student" and not school_access.consented(user):
        raise Forbidden(NO_CONSENT)
    session_id, session = school_access.new_session(user, via, now, guardian)
    school_access_store.open_session(db, session)
    return {"session_id": session_id, "role": PEOPLE[user["role"]], "user_id": user["_id"], "name": user["name"]}


def session_of(db: Database, session_id: Any, now: datetime) -> dict:
    """Who a live session is (NotFound otherwise: a pupil's ends when consent is withdrawn, a
    child's view opened by a guardian when that guardian's link to the child is removed)."""
    key = school_access.session_key(str(session_id))
    found = school_access_store.session(db, key)
    user = school_access_store.user(db, found["user_id"]) if found else None
    if not school_access.live(found, now) or user is None or not user.get("active", True) or \
            (user["role"] == "student" and not school_access.consented(user)) or \
            (found.get("guardian") and _guardian_doc(db, user, found["guardian"]) is None):
        raise NotFound("no live session")
    school_access_store.touch_session(db, key, school_access.touched(now))
    return {"role": PEOPLE[user["role"]], "user_id": user["_id"], "name": user["name"], "via": found["via"],
            "guardian": found.get("guardian")}


def close_session(db: Database, session_id: Any) -> bool:
    return school_access_store.close_session(db, school_access.session_key(str(session_id)))


def link_teacher(db: Database, teacher_id: Any, issuer: Any, subject: Any) -> dict:
    teacher = _user(db, _id(teacher_id, "teacher_id"), "teacher")
    if teacher is None:
        raise NotFound(f"no teacher {teacher_id}")
    school_access_store.link_identity(db, _id(issuer, "issuer"), _id(subject, "subject"), teacher["_id"])
    return {"teacher_id": teacher["_id"], "name": teacher["name"]}


def sign_in_by_identity(db: Database, issuer: Any, subject: Any, now: datetime) -> dict:
    teacher_id = school_access_store.linked_teacher(db, str(issuer), str(subject))
    if teacher_id is None:
        raise NotFound("此身份未关联任何教师 (this identity is linked to no teacher)")
    return open_session(db, teacher_id, "oidc", now)


def child_view(db: Database, resident_id: Any, student_id: Any, now: datetime) -> dict:
    """The child's own pages opened by their guardian (consent needed as for a code)."""
    student = classroom.guardian_child(db, resident_id, student_id)
    return open_session(db, student["_id"], "guardian", now, guardian=resident_id)
