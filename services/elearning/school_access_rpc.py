"""Teachers, pupils and guardians at the e-schoolbag's pages (a mixin of ``ElearningService``):
sign-in codes and sessions, teachers' identity links, guardians' consent and children's
views, a teacher's classes, whole-class messages, files. The rules are in ``school_access``,
``school_files`` and ``classroom``; the gateway passes who is asking, as it verified them.

Refusals: BadInput (a malformed code, file, text), RateLimited (too many wrong codes),
Forbidden (no consent; another class's pupil), NotFound (an unknown, used or expired code
or session; a child who is not the guardian's: as if there were none).
"""
from __future__ import annotations

import base64
import binascii
from datetime import timedelta

from nameko.timer import timer

from services.common import clock
from services.common.errors import BadInput, Forbidden, NotFound
from services.common.rpc import rpc
from services.elearning import (classroom, school_access, school_access_store, school_files, school_files_store,
                                schoolbag)

PEOPLE = {"student": "pupil", "teacher": "teacher"}


class SchoolAccessEntrypoints:

    # ---- codes and sessions ----------------------------------------------------------------

    @rpc
    def school_code_issue(self, issuer: dict, user_id: str) -> dict:
        """A sign-in code for a pupil (by a teacher of their class, or the operator:
        ``{"role": "operator", "id": login}``) or a teacher (the operator only). Shown once."""
        if not isinstance(issuer, dict) or issuer.get("role") not in ("teacher", "operator") or \
                not isinstance(issuer.get("id"), str):
            raise BadInput("issuer must be {'role': 'teacher' | 'operator', 'id': ...}")
        user = school_access_store.user(self.db, schoolbag._id(user_id, "user_id"))
        if user is None or user["role"] not in PEOPLE or not user.get("active", True):
            raise NotFound(f"no pupil or teacher {user_id}")
        if issuer["role"] == "teacher":
            if user["role"] != "student":
                raise Forbidden("a teacher issues codes to pupils only")
            classroom.pupil_of_teacher(self.db, issuer["id"], user["_id"])
        if user["role"] == "student" and not school_access.consented(user):
            raise Forbidden("未满14周岁的学生需监护人在“孩子”页面同意后才能登录 "
                            "(a pupil under 14 needs a guardian's consent first)")
        now = clock.now()
        code = school_access.new_code()
        record = school_access.code_record(code, user, {"role": issuer["role"], "id": issuer["id"]}, now)
        school_access_store.save_code(self.db, record)
        return {"code": school_access.shown(code), "user_id": user["_id"], "role": PEOPLE[user["role"]],
                "name": user["name"], "expires_at": record["expires_at"]}

    @rpc
    def school_code_signin(self, code: str, source: str) -> dict:
        """A session for the code's pupil or teacher: {session_id, role, user_id, name}."""
        now = clock.now()
        key = f"from:{str(source)[:64]}|{school_access.hour_bucket(now)}"
        school_access.check_wrong_count(school_access_store.wrong_so_far(self.db, key))
        normal = school_access.normal_code(code)
        digest = school_access.digest(normal)
        record = school_access_store.code(self.db, digest)
        # spent either way: a good code signs in once, an expired one never again
        if record is None or not school_access_store.spend_code(self.db, digest) or school_access.expired(record, now):
            school_access_store.count_wrong(self.db, key, school_access.stamp(now + timedelta(hours=1)))
            raise NotFound(school_access.WRONG_CODE)
        return self._school_open(record["user_id"], "code", now)

    @rpc
    def school_session_get(self, session_id: str) -> dict:
        """{role, user_id, name, via, guardian} of a live session (NotFound otherwise; a pupil's
        ends when consent is withdrawn, a child's view opened by a guardian when that guardian's
        link to the child is removed)."""
        now = clock.now()
        key = school_access.session_key(str(session_id))
        found = school_access_store.session(self.db, key)
        user = school_access_store.user(self.db, found["user_id"]) if found else None
        if not school_access.live(found, now) or user is None or not user.get("active", True) or \
                (user["role"] == "student" and not school_access.consented(user)) or \
                (found.get("guardian") and schoolbag._guardian_doc(self.db, user, found["guardian"]) is None):
            raise NotFound("no live session")   # a child's view ends with its guardian's link too
        school_access_store.touch_session(self.db, key, school_access.touched(now))
        return {"role": PEOPLE[user["role"]], "user_id": user["_id"], "name": user["name"], "via": found["via"],
                "guardian": found.get("guardian")}

    @timer(interval=3600)
    def purge_school_access(self):
        """Expired codes, wrong-try counts and sessions never presented again."""
        school_access_store.purge(self.db, school_access.stamp(clock.now()))

    @rpc
    def school_session_close(self, session_id: str) -> bool:
        return school_access_store.close_session(self.db, school_access.session_key(str(session_id)))

    @rpc
    def teacher_link_identity(self, teacher_id: str, issuer: str, subject: str) -> dict:
        """Let a roster teacher sign in through the identity provider as ``subject``."""
        teacher = schoolbag._user(self.db, schoolbag._id(teacher_id, "teacher_id"), "teacher")
        if teacher is None:
            raise NotFound(f"no teacher {teacher_id}")
        school_access_store.link_identity(self.db, schoolbag._id(issuer, "issuer"), schoolbag._id(subject, "subject"),
                                          teacher["_id"])
        return {"teacher_id": teacher["_id"], "name": teacher["name"]}

    @rpc
    def teacher_signin_identity(self, issuer: str, subject: str) -> dict:
        """A session for the teacher linked to the identity (NotFound: linked to none)."""
        teacher_id = school_access_store.linked_teacher(self.db, str(issuer), str(subject))
        if teacher_id is None:
            raise NotFound("此身份未关联任何教师 (this identity is linked to no teacher)")
        return self._school_open(teacher_id, "oidc", clock.now())

    @rpc
    def pupil_session_for_guardian(self, resident_id: str, student_id: str) -> dict:
        """The child's own view opened from the guardian's portal (consent needed as for a code)."""
        student = classroom.guardian_child(self.db, resident_id, student_id)
        return self._school_open(student["_id"], "guardian", clock.now(), guardian=resident_id)

    def _school_open(self, user_id: str, via: str, now, guardian: str | None = None) -> dict:
        user = school_access_store.user(self.db, user_id)
        if user is None or user["role"] not in PEOPLE or not user.get("active", True):
            raise NotFound("no such pupil or teacher")
        if user["role"] == "student" and not school_access.consented(user):
            raise Forbidden("未满14周岁的学生需监护人同意后才能登录 (a pupil under 14 needs a guardian's consent)")
        session_id, session = school_access.new_session(user, via, now, guardian)
        school_access_store.open_session(self.db, session)
        return {"session_id": session_id, "role": PEOPLE[user["role"]], "user_id": user["_id"], "name": user["name"]}

    # ---- consent ------------------------------------------------------------------------

    @rpc
    def guardian_consent(self, resident_id: str, student_id: str, given: bool) -> dict:
        return classroom.record_consent(self.db, resident_id, student_id, given, clock.now())

    @rpc
    def guardian_consents(self, resident_id: str) -> dict:
        """{pupil id: {consent, needed}} of the guardian's children."""
        out = {}
        for g in schoolbag._guardian_records(self.db, schoolbag._id(resident_id, "resident_id")):
            for child_id in classroom._children(g):
                child = schoolbag._user(self.db, child_id, "student")
                if child and schoolbag._guardian_doc(self.db, child, resident_id):
                    out[child_id] = {"consent": bool(child.get("consent")),
                                     "needed": school_access.presumed_under_14(child)}
        return out

    # ---- a teacher's classes ----------------------------------------------------------------

    @rpc
    def teacher_classes(self, teacher_id: str) -> dict:
        return classroom.teacher_classes(self.db, teacher_id)

    @rpc
    def class_for_teacher(self, teacher_id: str, class_id: str) -> dict:
        return classroom.class_for_teacher(self.db, teacher_id, class_id)

    @rpc
    def message_class(self, teacher_id: str, class_id: str, text: str) -> dict:
        return classroom.message_class(self.db, teacher_id, class_id, text, clock.now())

    @rpc
    def publish_assignment_with_files(self, teacher_id: str, class_id: str, title: str, body: str, due_at: str,
                                      files: list[dict]) -> dict:
        """``publish_assignment`` with attachments: ``files`` [{name, content_type, data_base64}],
        every one checked before anything is stored."""
        checked = _checked_files(files)
        at = clock.now()
        teacher_id, class_id, *_ = schoolbag.checked_assignment(self.db, teacher_id, class_id, title, body, due_at, at)
        stored = [school_files_store.put(self.db, upload, data, class_id, "assignment", None, teacher_id, at.isoformat())
                  for upload, data in checked]
        return schoolbag.publish_assignment(self.db, teacher_id, class_id, title, body, due_at, at, stored)

    @rpc
    def submit_with_files(self, student_id: str, assignment_id: str, text: str, files: list[dict]) -> dict:
        """A pupil's submission with files (checked first; stored only when the pupil may submit)."""
        checked = _checked_files(files)
        assignment = schoolbag._assignment(self.db, assignment_id)
        if not schoolbag._in_class(schoolbag._user(self.db, schoolbag._id(student_id, "student_id"), "student"),
                                   assignment["class_id"]):
            raise Forbidden("only a pupil of the assignment's class may submit to it")
        if not (text or "").strip() and not checked:
            raise BadInput("请写下作业内容或附上文件 (a submission needs text or a file)")
        at = clock.now()
        refs = [school_files.REFERENCE + school_files_store.put(self.db, upload, data, assignment["class_id"],
                                                               "submission", student_id, student_id,
                                                               at.isoformat())["file_id"]
                for upload, data in checked]
        return schoolbag.submit(self.db, student_id, assignment["_id"], text, refs, at)

    @rpc
    def pupil_lessons(self, student_id: str) -> dict:
        return classroom.pupil_lessons(self.db, student_id)

    @rpc
    def pupil_lesson_step(self, student_id: str, course_id: str, lesson_id: str, finished: bool) -> dict:
        return classroom.pupil_lesson_step(self.db, student_id, course_id, lesson_id, finished, clock.now())

    @rpc
    def school_file(self, viewer: dict, file_id: str) -> dict:
        """One file (base64) for someone who may open it; NotFound for anyone else."""
        found = school_files_store.get(self.db, file_id) if isinstance(file_id, str) and \
            school_files.FILE_ID.match(file_id) else None
        if found is None or not classroom.may_open_file(self.db, viewer if isinstance(viewer, dict) else {}, found[0]):
            raise NotFound("no such file")
        meta, data = found
        return {"file_id": file_id, "name": meta["name"], "content_type": meta["content_type"],
                "data_base64": base64.b64encode(data).decode("ascii")}

    @rpc
    def school_files_described(self, file_ids: list[str]) -> dict:
        """Names and sizes of stored files (what a submission's ``file:`` references are)."""
        ids = [f for f in (file_ids or [])[:100] if isinstance(f, str) and school_files.FILE_ID.match(f)]
        return school_files_store.described(self.db, ids)


def _checked_files(files) -> list[tuple]:
    files = files or []
    school_files.check_all(files)
    out = []
    for f in files:
        if not isinstance(f, dict) or not isinstance(f.get("data_base64"), str) or \
                len(f["data_base64"]) > school_files.MAX_BYTES * 4 // 3 + 8:
            raise BadInput(f"a file may be at most {school_files.MAX_BYTES // (1024 * 1024)} MB")
        try:
            data = base64.b64decode(f["data_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise BadInput("the file's data is not base64") from None
        out.append((school_files.check(f.get("name"), f.get("content_type"), data), data))
    return out
