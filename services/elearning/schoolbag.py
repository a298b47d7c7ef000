"""The e-schoolbag pilots (电子书包) against the store: the roster (schools, classes,
teachers, pupils, guardians; imported by ``roster_store``), assignments and submissions,
home-school messages (家校互动).

Shaped for the embedded store: every lookup is by ``_id`` or one indexed
field with equality; memberships are maps keyed by id, written with ``$set``/``$unset``
of one key (never ``$push`` of sub-documents, never array equality); each message is a
document of its own; an event is written in the same insert as the document it is about.

Who may do what:

- a teacher publishes to, reads and marks the submissions of, and talks about the pupils
  of, only the classes they are enrolled in as teacher;
- a pupil submits only to assignments of their own classes;
- a guardian (a resident) sees and talks about only the pupils linked to them.

People are named by their roster sourcedId (teachers, pupils) or resident id (guardians).
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import pymongo
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pymongo.database import Database

from contracts.events.schoolbag import AssignmentPublishedV1, MessagePostedV1
from services.common import clock, outbox
from services.common.arguments import batch
from services.common.errors import BadInput, Conflict, Forbidden, NotFound
from services.common.outbox import OUTBOX_INDEX
from services.elearning import school_access
from services.elearning.roster import map_key, unmap_key

ORGS = "roster_orgs"
SESSIONS = "roster_sessions"
CLASSES = "roster_classes"
USERS = "roster_users"              # pupils, teachers and guardians, by sourcedId
ENROLLMENTS = "roster_enrollments"
ASSIGNMENTS = "schoolbag_assignments"
SUBMISSIONS = "schoolbag_submissions"  # _id = "<assignment id>|<pupil id>": one per pupil
THREADS = "schoolbag_threads"
MESSAGES = "schoolbag_messages"

INDEXES = {
    USERS: [pymongo.IndexModel([("resident_id", 1)], name="resident")],
    ENROLLMENTS: [pymongo.IndexModel([("class_id", 1)], name="class")],
    ASSIGNMENTS: [pymongo.IndexModel([("class_id", 1)], name="class"), OUTBOX_INDEX],
    SUBMISSIONS: [pymongo.IndexModel([("assignment_id", 1)], name="assignment"),
                  pymongo.IndexModel([("class_id", 1)], name="class")],   # a class's submitted counts
    THREADS: [pymongo.IndexModel([("student_id", 1)], name="student"),
              pymongo.IndexModel([("class_id", 1)], name="class")],
    MESSAGES: [pymongo.IndexModel([("thread_id", 1)], name="thread"), OUTBOX_INDEX],
}
OUTBOX_COLLECTIONS = [ASSIGNMENTS, MESSAGES]

MAX_LISTED = 200
NO_OUTBOX = outbox.HIDDEN


def stamp(at: datetime) -> str:
    """Stored times: UTC, always with microseconds, so that strings compare like times."""
    return at.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _parse(at: str | None) -> datetime | None:
    return datetime.fromisoformat(at) if at else None


# --- input checks ----------------------------------------------------------------------

_AWARE = TypeAdapter(AwareDatetime)


def _id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 128:
        raise BadInput(f"{what} must be a non-empty id of at most 128 characters")
    return value.strip()


def _text(value: Any, what: str, limit: int, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise BadInput(f"{what} must be text")
    value = value.strip()
    if required and not value:
        raise BadInput(f"{what} is empty")
    if len(value) > limit:
        raise BadInput(f"{what} is longer than {limit} characters")
    if any(ord(c) < 32 and c not in "\n\r\t" for c in value):
        raise BadInput(f"{what} contains control characters")
    return value


class Participant(BaseModel):
    """Who writes or reads a home-school thread: a teacher (roster sourcedId) or a
    guardian (resident id). The gateway passes the verified principal."""
    model_config = ConfigDict(extra="forbid")
    role: str = Field(pattern=r"^(teacher|guardian)$")
    id: str = Field(min_length=1, max_length=128)

    @property
    def key(self) -> str:
        return map_key(f"{self.role}:{self.id}")


def participant(value: Any, what: str = "author") -> Participant:
    try:
        return Participant.model_validate(value)
    except ValidationError:
        raise BadInput(f"{what} must be {{'role': 'teacher' | 'guardian', 'id': ...}}") from None


# --- the roster ------------------------------------------------------------------------

# --- who is who -----------------------------------------------------------------------

def _user(db: Database, user_id: str, role: str) -> dict | None:
    doc = db[USERS].find_one({"_id": user_id})
    return doc if doc and doc["role"] == role and doc.get("active", True) else None


def is_school_staff(db: Database, user_id: str, school_id: str) -> bool:
    """Whether ``user_id`` is an active teacher of ``school_id`` in the roster (the school's
    staff as the e-schoolbag knows them: a staff top-up of the wallet needs one)."""
    teacher = _user(db, user_id, "teacher")
    return bool(teacher) and school_id in (teacher.get("school_ids") or [])


def _classes_of(user: dict | None, role: str) -> list[str]:
    return sorted(unmap_key(k) for k, v in ((user or {}).get("classes") or {}).items()
                  if isinstance(v, dict) and v.get("role") == role)


def _teaches(teacher: dict | None, class_id: str) -> bool:
    return bool(teacher) and ((teacher.get("classes") or {}).get(map_key(class_id)) or {}).get("role") == "teacher"


def _in_class(student: dict | None, class_id: str) -> bool:
    return bool(student) and ((student.get("classes") or {}).get(map_key(class_id)) or {}).get("role") == "student"


def _guardian_doc(db: Database, student: dict | None, resident_id: str, known: dict | None = None) -> dict | None:
    """The active guardian record through which ``resident_id`` is linked to ``student``;
    ``known``: records of ``resident_id`` already read, by ``_id`` (no second read of them)."""
    link = ((student or {}).get("guardians") or {}).get(map_key(resident_id))
    if not link:
        return None
    gid = link.get("guardian_id")
    via = known[gid] if known and gid in known else db[USERS].find_one({"_id": gid})
    if via and via["role"] == "guardian" and via.get("active", True) and via.get("resident_id") == resident_id:
        return via
    return None


def _resident_records(db: Database, resident_id: str) -> list[dict]:
    """The roster records of a resident, whatever their role or state."""
    return list(db[USERS].find({"resident_id": resident_id}).limit(50))


class RosterReads:
    """Roster documents read once for one answer: the dashboard's children and its message
    threads both start from the guardian's records, their pupils and the pupils' classes."""

    def __init__(self, db: Database):
        self.db = db
        self._records: dict[str, list[dict]] = {}
        self._users: dict[str, dict | None] = {}
        self._classes: dict[str, dict | None] = {}

    def records_of(self, resident_id: str) -> list[dict]:
        if resident_id not in self._records:
            self._records[resident_id] = _resident_records(self.db, resident_id)
            self._users.update({r["_id"]: r for r in self._records[resident_id]})
        return self._records[resident_id]

    def users(self, ids: list[str]) -> dict[str, dict]:
        """{id: roster record} of those that exist."""
        return self._by_id(USERS, self._users, ids)

    def classes(self, ids: list[str]) -> dict[str, dict]:
        return self._by_id(CLASSES, self._classes, ids)

    def _by_id(self, collection: str, kept: dict, ids: list[str]) -> dict[str, dict]:
        missing = [i for i in ids if i not in kept]
        if missing:
            found = {d["_id"]: d for d in self.db[collection].find({"_id": {"$in": missing}})}
            kept.update({i: found.get(i) for i in missing})
        return {i: kept[i] for i in ids if kept[i] is not None}


def _guardian_records(db: Database, resident_id: str, records: list[dict] | None = None) -> list[dict]:
    return [g for g in (_resident_records(db, resident_id) if records is None else records)
            if g["role"] == "guardian" and g.get("active", True)]


def guardians_of_class(db: Database, class_id: str) -> dict[str, list[str]]:
    """{guardian resident id: names of their children in the class}: the active pupils
    enrolled now, and the guardians who see them (the same link, checked from both sides,
    as ``children_for_guardians``). A bounded number of store reads, whatever the class size."""
    pupil_ids = [e["user_id"] for e in db[ENROLLMENTS].find({"class_id": class_id}).limit(1000)
                 if e["role"] == "student"]
    pupils = [p for p in db[USERS].find({"_id": {"$in": pupil_ids}}) if p["role"] == "student"
              and p.get("active", True) and _in_class(p, class_id)] if pupil_ids else []
    links = {(unmap_key(key), (link or {}).get("guardian_id"), p["name"])
             for p in pupils for key, link in (p.get("guardians") or {}).items()}
    via_ids = sorted({via for _, via, _ in links if via})
    records = {g["_id"]: g for g in db[USERS].find({"_id": {"$in": via_ids}})} if via_ids else {}
    out: dict[str, list[str]] = {}
    for rid, via, name in sorted(links, key=lambda link: (link[0], link[2])):
        g = records.get(via)
        if g and g["role"] == "guardian" and g.get("active", True) and g.get("resident_id") == rid:
            out.setdefault(rid, []).append(name)
    return out


def _teacher_of_class(db: Database, teacher_id: str, class_id: str) -> dict:
    teacher = _user(db, teacher_id, "teacher")
    if not _teaches(teacher, class_id):
        raise Forbidden("only a teacher of this class may do this")
    return teacher


# --- assignments ----------------------------------------------------------------------

def checked_assignment(db: Database, teacher_id: Any, class_id: Any, title: Any, body: Any, due_at: Any,
                       at: datetime) -> tuple:
    """An assignment's fields checked (and its teacher's right to set it), before anything is stored."""
    teacher_id, class_id = _id(teacher_id, "teacher_id"), _id(class_id, "class_id")
    title = _text(title, "title", 200)
    body = _text(body, "body", 20000, required=False)
    try:
        due = _AWARE.validate_python(due_at).astimezone(timezone.utc).replace(microsecond=0)
    except ValidationError:
        raise BadInput("due_at must be a date and time with its time zone (ISO 8601)") from None
    if due <= at:
        raise BadInput("due_at is already past")
    klass = db[CLASSES].find_one({"_id": class_id})
    if klass is None or not klass.get("active", True):
        raise NotFound(f"no class {class_id}")
    _teacher_of_class(db, teacher_id, class_id)
    return teacher_id, class_id, title, body, due, klass


def publish_assignment(db: Database, teacher_id: Any, class_id: Any, title: Any, body: Any, due_at: Any,
                       at: datetime, attachments: list[dict] | None = None) -> dict:
    """``attachments``: files already stored for the class (``school_files_store.put``)."""
    teacher_id, class_id, title, body, due, klass = checked_assignment(db, teacher_id, class_id, title, body,
                                                                       due_at, at)
    aid = uuid.uuid4().hex
    doc = {"_id": aid, "class_id": class_id, "school_id": klass.get("school_id"), "teacher_id": teacher_id,
           "title": title, "body": body, "due_at": due.isoformat(), "published_at": stamp(at),
           "attachments": list(attachments or [])}
    event = outbox.event(AssignmentPublishedV1.TYPE, {
        "assignment_id": aid, "class_id": class_id, "school_id": klass.get("school_id"), "teacher_id": teacher_id,
        "title": title, "due_at": due, "published_at": at}, subject=class_id)
    db[ASSIGNMENTS].insert_one({**doc, **outbox.pending_fields([event])})
    return assignment_view(doc, klass)


def assignment_view(a: dict, klass: dict | None = None) -> dict:
    return {"assignment_id": a["_id"], "class_id": a["class_id"], "class_title": (klass or {}).get("title"),
            "teacher_id": a["teacher_id"], "title": a["title"], "body": a.get("body", ""),
            "due_at": a["due_at"], "published_at": a["published_at"], "attachments": list(a.get("attachments") or [])}


def _assignment(db: Database, assignment_id: Any) -> dict:
    doc = db[ASSIGNMENTS].find_one({"_id": _id(assignment_id, "assignment_id")}, NO_OUTBOX)
    if doc is None:
        raise NotFound(f"no assignment {assignment_id}")
    return doc


def submission_id(assignment_id: str, student_id: str) -> str:
    return f"{assignment_id}|{student_id}"


def submit(db: Database, student_id: Any, assignment_id: Any, text: Any, attachments: Any, at: datetime) -> dict:
    student_id = _id(student_id, "student_id")
    text = _text(text, "text", 20000, required=False)
    if attachments is None:
        attachments = []
    if not isinstance(attachments, list) or len(attachments) > 20:
        raise BadInput("attachments must be a list of at most 20 references")
    attachments = [_text(a, "an attachment reference", 500) for a in attachments]
    if not text and not attachments:
        raise BadInput("a submission needs text or at least one attachment")
    assignment = _assignment(db, assignment_id)
    student = _user(db, student_id, "student")
    if not _in_class(student, assignment["class_id"]):
        raise Forbidden("only a pupil of the assignment's class may submit to it")
    sid = submission_id(assignment["_id"], student_id)
    late = at > datetime.fromisoformat(assignment["due_at"])
    fields = {"text": text, "attachments": attachments, "submitted_at": stamp(at), "late": late}
    try:
        db[SUBMISSIONS].insert_one({"_id": sid, "assignment_id": assignment["_id"], "student_id": student_id,
                                    "class_id": assignment["class_id"], "state": "submitted", "version": 1,
                                    "mark": None, "comment": None, **fields})
    except pymongo.errors.DuplicateKeyError:
        # replaces the earlier submission, only while it is not marked (one conditional write)
        done = db[SUBMISSIONS].update_one({"_id": sid, "state": "submitted"},
                                          {"$set": fields, "$inc": {"version": 1}})
        if not done.matched_count:
            raise Conflict("this submission is already marked: it can no longer be replaced") from None
    return submission_view(db[SUBMISSIONS].find_one({"_id": sid}))


def submission_view(s: dict) -> dict:
    return {"submission_id": s["_id"], "assignment_id": s["assignment_id"], "student_id": s["student_id"],
            "text": s.get("text", ""), "attachments": list(s.get("attachments") or []),
            "submitted_at": s["submitted_at"], "late": bool(s.get("late")), "state": s["state"],
            "version": s.get("version", 1), "mark": s.get("mark"), "comment": s.get("comment"),
            "marked_at": s.get("marked_at")}


def _mark_value(mark: Any) -> int | float | str:
    if isinstance(mark, bool) or mark is None:
        raise BadInput("mark must be a score (0-1000) or a grade of at most 20 characters")
    if isinstance(mark, (int, float)):
        if not 0 <= mark <= 1000 or mark != mark:
            raise BadInput("a score must be between 0 and 1000")
        return mark
    return _text(mark, "mark", 20)


def mark(db: Database, teacher_id: Any, submission_id_: Any, mark_: Any, comment: Any, at: datetime) -> dict:
    teacher_id = _id(teacher_id, "teacher_id")
    value = _mark_value(mark_)
    comment = _text(comment, "comment", 2000, required=False) or None
    sub = db[SUBMISSIONS].find_one({"_id": _id(submission_id_, "submission_id")})
    if sub is None:
        raise NotFound(f"no submission {submission_id_}")
    _teacher_of_class(db, teacher_id, sub["class_id"])
    done = db[SUBMISSIONS].update_one({"_id": sub["_id"], "version": sub.get("version", 1)}, {"$set": {
        "state": "marked", "mark": value, "comment": comment, "marked_by": teacher_id, "marked_at": stamp(at)}})
    if not done.matched_count:
        raise Conflict("the pupil replaced this submission meanwhile: reload it and mark again")
    return submission_view(db[SUBMISSIONS].find_one({"_id": sub["_id"]}))


def submissions_for_assignment(db: Database, teacher_id: Any, assignment_id: Any) -> dict:
    """A teacher's view of one assignment: every pupil of the class, with their submission."""
    assignment = _assignment(db, assignment_id)
    _teacher_of_class(db, _id(teacher_id, "teacher_id"), assignment["class_id"])
    pupils = [e["user_id"] for e in db[ENROLLMENTS].find({"class_id": assignment["class_id"]}).limit(1000)
              if e["role"] == "student"]
    names = {u["_id"]: school_access.name_for_teacher(u)
             for u in db[USERS].find({"_id": {"$in": pupils}}, {"name": 1, "grade": 1, "consent": 1})}
    subs = {s["student_id"]: s for s in db[SUBMISSIONS].find(
        {"_id": {"$in": [submission_id(assignment["_id"], p) for p in pupils]}})}
    return {**assignment_view(assignment), "pupils": [
        {"student_id": p, "name": names.get(p, ""), "submission": submission_view(subs[p]) if p in subs else None}
        for p in sorted(pupils, key=lambda p: names.get(p, p))]}


def _state(assignment: dict, sub: dict | None, at: datetime) -> str:
    if sub:
        return sub["state"]
    return "overdue" if at > datetime.fromisoformat(assignment["due_at"]) else "not_submitted"


def _assignments_of_classes(db: Database, class_ids: list[str]) -> dict[str, list[dict]]:
    # one indexed equality per class (``$in`` on a non-_id field scans on the embedded store)
    return {cid: sorted(db[ASSIGNMENTS].find({"class_id": cid}, NO_OUTBOX).limit(MAX_LISTED),
                        key=lambda a: a["due_at"], reverse=True) for cid in class_ids}


def assignments_for_student(db: Database, student_id: Any, at: datetime) -> list[dict]:
    """The terminal's list: the pupil's assignments with their own submission state."""
    student = _user(db, _id(student_id, "student_id"), "student")
    if student is None:
        raise NotFound(f"no pupil {student_id}")
    return _child_view(db, student, at)["assignments"]


def _child_view(db: Database, student: dict, at: datetime, classes: dict | None = None,
                assignments: dict | None = None, subs: dict | None = None) -> dict:
    class_ids = _classes_of(student, "student")
    if classes is None:
        classes = {c["_id"]: c for c in db[CLASSES].find({"_id": {"$in": class_ids}})}
    class_ids = [c for c in class_ids if c in classes and classes[c].get("active", True)]
    if assignments is None:
        assignments = _assignments_of_classes(db, class_ids)
    if subs is None:
        ids = [submission_id(a["_id"], student["_id"]) for cid in class_ids for a in assignments.get(cid, [])]
        subs = {s["_id"]: s for s in db[SUBMISSIONS].find({"_id": {"$in": ids}})} if ids else {}
    views = []
    for cid in class_ids:
        for a in assignments.get(cid, []):
            sub = subs.get(submission_id(a["_id"], student["_id"]))
            views.append({**assignment_view(a, classes.get(cid)), "state": _state(a, sub, at),
                          "submission": submission_view(sub) if sub else None})
    views.sort(key=lambda v: v["due_at"], reverse=True)
    return {"student_id": student["_id"], "name": student["name"], "grade": student.get("grade"),
            "classes": [{"class_id": cid, "title": classes[cid]["title"], "class_type": classes[cid].get("class_type"),
                         "school_id": classes[cid].get("school_id")}
                        for cid in class_ids if cid in classes],
            "assignments": views}


def children_for_guardians(db: Database, resident_ids: Any, at: datetime, reads: RosterReads | None = None) -> dict:
    """Batch read: {resident id: {"children": [child with classes, assignments, submission
    state and mark]}}. A guardian sees only the pupils linked to them. A bounded number
    of store reads per guardian and per class, whatever the number of children."""
    reads = reads or RosterReads(db)
    rids = [_id(r, "a resident id") for r in batch(resident_ids, "resident ids")]
    wanted: dict[str, list[str]] = {}
    for rid in rids:
        wanted[rid] = sorted({unmap_key(k) for g in _guardian_records(db, rid, reads.records_of(rid))
                              for k in (g.get("children") or {})})
    all_children = sorted({c for cs in wanted.values() for c in cs})
    students = {i: s for i, s in reads.users(all_children).items() if s["role"] == "student" and s.get("active", True)}
    class_ids = sorted({c for s in students.values() for c in _classes_of(s, "student")})
    classes = reads.classes(class_ids)
    assignments = _assignments_of_classes(db, [c for c in class_ids if c in classes])
    sub_ids = [submission_id(a["_id"], s["_id"]) for s in students.values() for cid in _classes_of(s, "student")
               for a in assignments.get(cid, [])]
    subs = {s["_id"]: s for s in db[SUBMISSIONS].find({"_id": {"$in": sub_ids}})} if sub_ids else {}
    out = {}
    for rid in rids:
        children = [students[c] for c in wanted[rid] if c in students]
        # both sides of the link must agree (a link removed from the pupil's side is gone)
        children = [s for s in children if map_key(rid) in (s.get("guardians") or {})]
        out[rid] = {"children": [_child_view(db, s, at, classes, assignments, subs) for s in children]}
    return out


# --- home-school messages -----------------------------------------------------------------

def _thread(db: Database, thread_id: Any) -> dict:
    doc = db[THREADS].find_one({"_id": _id(thread_id, "thread_id")})
    if doc is None:
        raise NotFound(f"no thread {thread_id}")
    return doc


def _may_see(db: Database, who: Participant, thread: dict) -> dict | None:
    """The participant's roster record if they may read and write ``thread``."""
    if who.role == "teacher":
        teacher = _user(db, who.id, "teacher")
        return teacher if _teaches(teacher, thread["class_id"]) else None
    student = db[USERS].find_one({"_id": thread["student_id"]})
    return _guardian_doc(db, student, who.id)


def _thread_class(db: Database, who: Participant, author: dict | None, student: dict, class_id: str | None) -> str:
    pupil_classes = _classes_of(student, "student")
    if who.role == "teacher":
        choices = [c for c in pupil_classes if _teaches(author, c)]
        if not choices or (class_id and class_id not in choices):
            raise Forbidden("only a teacher of the pupil's class may write about this pupil")
    else:
        choices = pupil_classes
        if not choices:
            raise BadInput("the pupil is in no class yet")
        if class_id and class_id not in choices:
            raise BadInput(f"the pupil is not in class {class_id}")
    if class_id:
        return class_id
    if len(choices) == 1:
        return choices[0]
    homerooms = [c["_id"] for c in db[CLASSES].find({"_id": {"$in": choices}}) if c.get("class_type") == "homeroom"]
    if len(homerooms) == 1:
        return homerooms[0]
    raise BadInput("the pupil is in several classes: name the class (class_id)")


def post_message(db: Database, author: Any, text: Any, thread_id: Any = None, student_id: Any = None,
                 class_id: Any = None, at: datetime | None = None) -> dict:
    at = at or clock.now()
    who = participant(author)
    text = _text(text, "text", 5000)
    if (thread_id is None) == (student_id is None):
        raise BadInput("give either thread_id (to reply) or student_id (to start a thread about a pupil)")
    if thread_id is not None:
        thread = _thread(db, thread_id)
        record = _may_see(db, who, thread)
        if record is None:
            raise Forbidden("only the pupil's guardians and the teachers of the thread's class may write here")
        new_thread = None
    else:
        student = _user(db, _id(student_id, "student_id"), "student")
        if student is None:
            raise NotFound(f"no pupil {student_id}")
        if who.role == "teacher":
            record = _user(db, who.id, "teacher")
        else:
            record = _guardian_doc(db, student, who.id)
            if record is None:
                raise Forbidden("only the pupil's guardians may write about this pupil")
        cid = _thread_class(db, who, record, student, _id(class_id, "class_id") if class_id is not None else None)
        new_thread = {"_id": uuid.uuid4().hex, "student_id": student["_id"], "class_id": cid,
                      "started_by": {"role": who.role, "id": who.id}, "started_at": stamp(at),
                      "last_message_at": None, "message_count": 0, "reads": {}}
        thread = new_thread
    mid = uuid.uuid4().hex
    event = outbox.event(MessagePostedV1.TYPE, {
        "message_id": mid, "thread_id": thread["_id"], "new_thread": new_thread is not None,
        "student_id": thread["student_id"], "class_id": thread["class_id"], "author_role": who.role,
        "author_id": who.id, "posted_at": at}, subject=thread["_id"])
    message = {"_id": mid, "thread_id": thread["_id"], "author": {"role": who.role, "id": who.id,
                                                                  "name": record.get("name", "")},
               "text": text, "at": stamp(at)}
    if new_thread is not None:
        db[THREADS].insert_one(new_thread)
    db[MESSAGES].insert_one({**message, **outbox.pending_fields([event])})
    db[THREADS].update_one({"_id": thread["_id"]}, {
        "$set": {"last_message_at": message["at"], "last_author": message["author"],
                 f"reads.{who.key}": message["at"]},   # who writes has read the thread
        "$inc": {"message_count": 1}})
    return {"thread_id": thread["_id"], "new_thread": new_thread is not None, **_message_view(message, {})}


def mark_read(db: Database, reader: Any, thread_id: Any, at: datetime) -> dict:
    who = participant(reader, "reader")
    thread = _thread(db, thread_id)
    if _may_see(db, who, thread) is None:
        raise Forbidden("only the pupil's guardians and the teachers of the thread's class may read this thread")
    db[THREADS].update_one({"_id": thread["_id"]}, {"$set": {f"reads.{who.key}": stamp(at)}})
    return {"thread_id": thread["_id"], "read_at": stamp(at)}


def _receipts(thread: dict) -> list[dict]:
    out = []
    for key, read_at in (thread.get("reads") or {}).items():
        role, _, rid = unmap_key(key).partition(":")
        out.append({"role": role, "id": rid, "read_at": read_at})
    return sorted(out, key=lambda r: (r["role"], r["id"]))


def _thread_view(thread: dict, who: Participant, students: dict, classes: dict) -> dict:
    mine = (thread.get("reads") or {}).get(who.key)
    last = thread.get("last_message_at")
    return {"thread_id": thread["_id"], "student_id": thread["student_id"],
            "student_name": (school_access.name_for_teacher if who.role == "teacher" else
                             lambda s: s.get("name", ""))(students.get(thread["student_id"], {"consent": True})),
            "class_id": thread["class_id"], "class_title": classes.get(thread["class_id"], {}).get("title", ""),
            "started_by": thread.get("started_by"), "started_at": thread["started_at"],
            "last_message_at": last, "last_author": thread.get("last_author"),
            "message_count": thread.get("message_count", 0), "last_read_at": mine,
            "unread": bool(last) and (mine is None or _parse(mine) < _parse(last)),
            "read_receipts": _receipts(thread)}


def threads_for(db: Database, reader: Any, reads: RosterReads | None = None) -> list[dict]:
    """The reader's threads, latest first: a teacher's are those of their classes, a
    guardian's those about their children."""
    who = participant(reader, "reader")
    reads = reads or RosterReads(db)
    threads: dict[str, dict] = {}
    names: dict[str, dict] = {}
    if who.role == "teacher":
        for cid in _classes_of(_user(db, who.id, "teacher"), "teacher"):
            threads.update({t["_id"]: t for t in db[THREADS].find({"class_id": cid}).limit(MAX_LISTED)})
    else:
        # the links are checked against the guardian's own records, read once (not once per child)
        records = reads.records_of(who.id)
        known = {r["_id"]: r for r in records}
        children = sorted({unmap_key(k) for g in _guardian_records(db, who.id, records)
                           for k in (g.get("children") or {})})
        for student in reads.users(children).values():
            if student["role"] == "student" and _guardian_doc(db, student, who.id, known):
                names[student["_id"]] = student
                threads.update({t["_id"]: t for t in db[THREADS].find({"student_id": student["_id"]}).limit(MAX_LISTED)})
    threads = {k: t for k, t in threads.items() if t.get("message_count")}
    student_ids = sorted({t["student_id"] for t in threads.values()})
    class_ids = sorted({t["class_id"] for t in threads.values()})
    unnamed = [s for s in student_ids if s not in names]   # a guardian's pupils were read above
    students = {**names, **reads.users(unnamed)}
    classes = reads.classes(class_ids)
    views = [_thread_view(t, who, students, classes) for t in threads.values()]
    return sorted(views, key=lambda v: v["last_message_at"] or "", reverse=True)


def _message_view(m: dict, reads: dict) -> dict:
    author_key = map_key(f"{m['author']['role']}:{m['author']['id']}")
    read_by = [r for k, r in reads.items() if k != author_key and r["read_at"] and _parse(r["read_at"]) >= _parse(m["at"])]
    return {"message_id": m["_id"], "author": m["author"], "text": m["text"], "at": m["at"],
            "read_by": [{"role": r["role"], "id": r["id"]} for r in read_by]}


def thread_messages(db: Database, reader: Any, thread_id: Any) -> dict:
    """One thread with its messages, oldest first, each with who has read it."""
    who = participant(reader, "reader")
    thread = _thread(db, thread_id)
    if _may_see(db, who, thread) is None:
        raise Forbidden("only the pupil's guardians and the teachers of the thread's class may read this thread")
    reads = {map_key(f"{r['role']}:{r['id']}"): r for r in _receipts(thread)}
    messages = sorted(db[MESSAGES].find({"thread_id": thread["_id"]}, NO_OUTBOX).limit(1000), key=lambda m: m["at"])
    student = db[USERS].find_one({"_id": thread["student_id"]}, {"name": 1, "grade": 1, "consent": 1}) or {}
    klass = db[CLASSES].find_one({"_id": thread["class_id"]}, {"title": 1}) or {}
    return {**_thread_view(thread, who, {thread["student_id"]: student}, {thread["class_id"]: klass}),
            "messages": [_message_view(m, reads) for m in messages]}
