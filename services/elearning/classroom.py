"""What the school pages show and do beyond the e-schoolbag's RPCs, against the store: a
teacher's classes and one class (its pupils, named only with consent; its assignments with
how many submitted; its threads with read receipts), a message to the whole class,
assignments and submissions with files and who may open them, a guardian's consent, a
pupil's lessons (their place kept as a learner's, as ``pupil:<sourcedId>``).

Who may see what (``schoolbag``'s rules, and): a teacher only their own classes; a file only
the people ``school_files`` names; consent only a pupil's own guardian records.
"""
from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from pymongo.database import Database

from services.common.errors import BadInput, Forbidden, NotFound
from services.elearning import courses, school_access, school_access_store, school_files, school_files_store, schoolbag
from services.elearning.roster import unmap_key
from services.elearning.schoolbag import (ASSIGNMENTS, CLASSES, ENROLLMENTS, NO_OUTBOX, SUBMISSIONS, USERS,
                                          _classes_of, _guardian_doc, _id, _in_class, _teaches, _user)


def teacher_classes(db: Database, teacher_id: Any) -> dict:
    teacher = _user(db, _id(teacher_id, "teacher_id"), "teacher")
    if teacher is None:
        raise NotFound(f"no teacher {teacher_id}")
    ids = _classes_of(teacher, "teacher")
    classes = [c for c in db[CLASSES].find({"_id": {"$in": ids}}) if c.get("active", True)] if ids else []
    return {"teacher_id": teacher["_id"], "name": teacher["name"],
            "classes": [{"class_id": c["_id"], "title": c["title"], "class_type": c.get("class_type")}
                        for c in sorted(classes, key=lambda c: c["title"])]}


def _pupils(db: Database, class_id: str) -> list[dict]:
    ids = [e["user_id"] for e in db[ENROLLMENTS].find({"class_id": class_id}).limit(1000) if e["role"] == "student"]
    found = db[USERS].find({"_id": {"$in": ids}}) if ids else []
    return [p for p in found if p["role"] == "student" and p.get("active", True) and _in_class(p, class_id)]


def class_for_teacher(db: Database, teacher_id: Any, class_id: Any) -> dict:
    """One of the teacher's classes: pupils (a placeholder for a child without consent),
    assignments (newest first, with submitted counts), threads (with read receipts)."""
    teacher_id, class_id = _id(teacher_id, "teacher_id"), _id(class_id, "class_id")
    klass = db[CLASSES].find_one({"_id": class_id})
    if klass is None or not klass.get("active", True):
        raise NotFound(f"no class {class_id}")
    if not _teaches(_user(db, teacher_id, "teacher"), class_id):
        raise Forbidden("only a teacher of this class may see it")
    pupils = sorted(_pupils(db, class_id), key=lambda p: p["_id"])
    assignments = sorted(db[ASSIGNMENTS].find({"class_id": class_id}, NO_OUTBOX).limit(schoolbag.MAX_LISTED),
                         key=lambda a: a["published_at"], reverse=True)
    submitted: dict[str, int] = {}
    for s in db[SUBMISSIONS].find({"class_id": class_id}, {"assignment_id": 1}).limit(20000):
        submitted[s["assignment_id"]] = submitted.get(s["assignment_id"], 0) + 1
    threads = [t for t in schoolbag.threads_for(db, {"role": "teacher", "id": teacher_id}) if t["class_id"] == class_id]
    return {"class_id": class_id, "title": klass["title"],
            "pupils": [{"student_id": p["_id"], "name": school_access.name_for_teacher(p),
                        "consented": school_access.consented(p), "has_guardian": bool(p.get("guardians"))}
                       for p in pupils],
            "assignments": [{**schoolbag.assignment_view(a, klass), "submitted": submitted.get(a["_id"], 0)}
                            for a in assignments],
            "threads": threads}


def message_class(db: Database, teacher_id: Any, class_id: Any, text: Any, at: datetime) -> dict:
    """One message to the guardians of every pupil of the class, in each pupil's thread (read
    receipts per guardian); pupils with no guardian are counted apart."""
    teacher_id, class_id = _id(teacher_id, "teacher_id"), _id(class_id, "class_id")
    if not _teaches(_user(db, teacher_id, "teacher"), class_id):
        raise Forbidden("only a teacher of this class may write to it")
    schoolbag._text(text, "text", 5000)    # refused before anything is written
    author = {"role": "teacher", "id": teacher_id}
    threads = {t["student_id"]: t["thread_id"] for t in schoolbag.threads_for(db, author) if t["class_id"] == class_id}
    sent = skipped = 0
    for pupil in _pupils(db, class_id):
        if not pupil.get("guardians"):
            skipped += 1
            continue
        if pupil["_id"] in threads:
            schoolbag.post_message(db, author, text, thread_id=threads[pupil["_id"]], at=at)
        else:
            schoolbag.post_message(db, author, text, student_id=pupil["_id"], class_id=class_id, at=at)
        sent += 1
    return {"sent": sent, "without_guardian": skipped}


def may_open_file(db: Database, viewer: dict, meta: dict) -> bool:
    """``viewer``: {"role": teacher | pupil | guardian, "id"}; ``meta``: the file's metadata."""
    role, who = viewer.get("role"), viewer.get("id")
    if role == "teacher":
        return _teaches(_user(db, who, "teacher"), meta["class_id"])
    if meta["kind"] == "submission":
        pupil = _user(db, meta["student_id"], "student")
        if role == "pupil":
            return who == meta["student_id"]
        return role == "guardian" and _guardian_doc(db, pupil, who) is not None
    if role == "pupil":
        return _in_class(_user(db, who, "student"), meta["class_id"])
    if role == "guardian":
        return any(_in_class(_user(db, child, "student"), meta["class_id"]) and
                   _guardian_doc(db, _user(db, child, "student"), who) is not None
                   for g in schoolbag._guardian_records(db, who) for child in _children(g))
    return False


def _children(guardian: dict) -> list[str]:
    return [unmap_key(k) for k in (guardian.get("children") or {})]


def guardian_child(db: Database, resident_id: Any, student_id: Any) -> dict:
    """The pupil if ``resident_id`` is their guardian; NotFound otherwise (as if there were none)."""
    student = _user(db, _id(student_id, "student_id"), "student")
    if student is None or _guardian_doc(db, student, _id(resident_id, "resident_id")) is None:
        raise NotFound(f"no child {student_id} of this guardian")
    return student


def record_consent(db: Database, resident_id: Any, student_id: Any, given: Any, at: datetime) -> dict:
    if not isinstance(given, bool):
        raise BadInput("given must be true or false")
    student = guardian_child(db, resident_id, student_id)
    school_access_store.set_consent(db, student["_id"], {"by": resident_id, "at": school_access.stamp(at)}
                                    if given else None)
    if not given and school_access.presumed_under_14(student):
        school_access_store.close_sessions_of(db, student["_id"])   # withdrawn: signed out now
    return {"student_id": student["_id"], "consent": given, "needed": school_access.presumed_under_14(student)}


def pupil_of_teacher(db: Database, teacher_id: str, student_id: Any) -> dict:
    """A pupil of one of the teacher's classes (Forbidden for anyone else's pupil)."""
    student = _user(db, _id(student_id, "student_id"), "student")
    teacher = _user(db, teacher_id, "teacher")
    if student is None or not any(_teaches(teacher, c) for c in _classes_of(student, "student")):
        raise Forbidden("only a teacher of the pupil's class may do this")
    return student



# ---- a pupil's lessons ----------------------------------------------------------------------

def learner_of(student_id: str) -> str:
    """A pupil's key among learners (courses' enrolments and progress are by learner; residents'
    are their resident ids, which never begin so)."""
    return f"pupil:{student_id}"


def _lessons(course: dict) -> list[dict]:
    return [lesson for unit in course.get("units") or [] for lesson in unit.get("lessons") or []]


def _web(lesson: dict) -> str | None:
    """The lesson's web or mobile address, when it is one a page may link to."""
    renditions = lesson.get("renditions") or {}
    urls = [(renditions.get(channel) or {}).get("url") for channel in ("web", "mobile")]
    return next((u for u in urls if isinstance(u, str) and u.startswith("https://")), None)


def pupil_lessons(db: Database, student_id: Any, offered: int = 3) -> dict:
    """Where the pupil left off in each course they started (the first lesson not finished),
    and the first lesson of courses on offer they have not started."""
    student = _user(db, _id(student_id, "student_id"), "student")
    if student is None:
        raise NotFound(f"no pupil {student_id}")
    learner = learner_of(student["_id"])
    enrolments = courses.enrolments_of(db, learner, 20)
    records = courses.progress_of(db, [e["_id"] for e in enrolments])
    going, started = [], set()
    for e in enrolments:
        course = courses.course(db, e["course_id"])
        started.add(course["_id"])
        done = {r["lesson_id"]: r for r in records.get(e["_id"], [])}
        nxt = next((lesson for lesson in _lessons(course) if not done.get(lesson["id"], {}).get("completed")), None)
        if nxt:
            going.append({"course_id": course["_id"], "course": course["title"], "lesson_id": nxt["id"],
                          "lesson": nxt.get("title", ""), "percent": int(done.get(nxt["id"], {}).get("percent") or 0),
                          "url": _web(nxt)})
    offer = []
    for course in courses.search(db, subject=None, provider=None, channel=None, limit=20):
        first = (_lessons(course) or [None])[0]
        if course["_id"] not in started and first and len(offer) < offered:
            offer.append({"course_id": course["_id"], "course": course["title"], "lesson_id": first["id"],
                          "lesson": first.get("title", ""), "url": _web(first)})
    return {"continue": going, "offered": offer}


def pupil_lesson_step(db: Database, student_id: Any, course_id: Any, lesson_id: Any, finished: Any,
                      at: datetime) -> dict:
    """The pupil opens (started) or finishes a lesson: their place kept as a learner's is."""
    if not isinstance(finished, bool):
        raise BadInput("finished must be true or false")
    student = _user(db, _id(student_id, "student_id"), "student")
    if student is None:
        raise NotFound(f"no pupil {student_id}")
    learner = learner_of(student["_id"])
    course = courses.course(db, _id(course_id, "course_id"))
    lesson = next((lesson for lesson in _lessons(course) if lesson["id"] == lesson_id), None)
    if lesson is None:
        raise BadInput(f"no lesson {lesson_id!r} in course {course_id}")
    courses.enrol(db, learner, course["_id"])
    courses.record_progress(db, resident_id=learner, course_id=course["_id"], lesson_id=lesson["id"],
                            percent=100 if finished else 10, completed=finished, at=at, channel="web")
    return {"course_id": course["_id"], "lesson_id": lesson["id"], "finished": finished, "url": _web(lesson)}


# ---- consent and files ------------------------------------------------------------------------

def guardian_consents(db: Database, resident_id: Any) -> dict:
    """{pupil id: {consent, needed}} of the guardian's children."""
    resident_id = _id(resident_id, "resident_id")
    out = {}
    for g in schoolbag._guardian_records(db, resident_id):
        for child_id in _children(g):
            child = _user(db, child_id, "student")
            if child and _guardian_doc(db, child, resident_id):
                out[child_id] = {"consent": bool(child.get("consent")), "needed": school_access.presumed_under_14(child)}
    return out


def publish_with_files(db: Database, teacher_id: Any, class_id: Any, title: Any, body: Any, due_at: Any,
                       files: Any, at: datetime) -> dict:
    """An assignment with attachments: the files and the fields all checked before anything is stored."""
    checked = school_files.decoded(files)
    teacher_id, class_id, *_ = schoolbag.checked_assignment(db, teacher_id, class_id, title, body, due_at, at)
    stored = [school_files_store.put(db, upload, data, class_id, "assignment", None, teacher_id, at.isoformat())
              for upload, data in checked]
    return schoolbag.publish_assignment(db, teacher_id, class_id, title, body, due_at, at, stored)


def submit_with_files(db: Database, student_id: Any, assignment_id: Any, text: Any, files: Any,
                      at: datetime) -> dict:
    """A pupil's submission with files, stored only when the pupil may submit."""
    checked = school_files.decoded(files)
    assignment = schoolbag._assignment(db, assignment_id)
    student_id = _id(student_id, "student_id")
    if not _in_class(_user(db, student_id, "student"), assignment["class_id"]):
        raise Forbidden("only a pupil of the assignment's class may submit to it")
    if not (text or "").strip() and not checked:
        raise BadInput("请写下作业内容或附上文件 (a submission needs text or a file)")
    refs = [school_files.REFERENCE + school_files_store.put(db, upload, data, assignment["class_id"], "submission",
                                                           student_id, student_id, at.isoformat())["file_id"]
            for upload, data in checked]
    return schoolbag.submit(db, student_id, assignment["_id"], text, refs, at)


def open_file(db: Database, viewer: Any, file_id: Any) -> dict:
    """One file (base64) for someone who may open it; NotFound for anyone else."""
    found = school_files_store.get(db, file_id) if isinstance(file_id, str) and school_files.FILE_ID.match(file_id) \
        else None
    if found is None or not may_open_file(db, viewer if isinstance(viewer, dict) else {}, found[0]):
        raise NotFound("no such file")
    meta, data = found
    return {"file_id": file_id, "name": meta["name"], "content_type": meta["content_type"],
            "data_base64": base64.b64encode(data).decode("ascii")}


def files_described(db: Database, file_ids: Any) -> dict:
    ids = [f for f in (file_ids or [])[:100] if isinstance(f, str) and school_files.FILE_ID.match(f)]
    return school_files_store.described(db, ids)
