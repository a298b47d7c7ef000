"""Courses, enrolments and progress against the store: the one implementation the RPCs and
the xAPI endpoint both call."""
from __future__ import annotations

from datetime import datetime

import pymongo
from pymongo.database import Database

from services.common import clock, key_rows
from services.common.arguments import checked_day
from services.common.errors import BadInput, NotFound
from services.common.storage import once
from services.elearning import progress

COURSES = "courses"
COURSE_KEYS = "course_keys"   # one row per subject, channel and provider of a course: what a search reads
TV_SLOTS = "tv_slots"   # one row per lesson broadcast on TV: _id "tv|<starts at>|<channel>|<course>|<lesson>"
COURSE_VERSIONS = "course_versions"   # each published version, kept as it was: _id "<course>|<version>"
ENROLMENTS = "enrolments"
PROGRESS = "progress"

INDEXES = {
    COURSE_KEYS: [pymongo.IndexModel([("k", 1)], name="k")],
    ENROLMENTS: [pymongo.IndexModel([("resident_id", 1)], name="resident")],
    PROGRESS: [pymongo.IndexModel([("enrolment", 1)], name="enrolment")],
    TV_SLOTS: [pymongo.IndexModel([("k", 1)], name="k"), pymongo.IndexModel([("course_id", 1)], name="course")],
}


def course(db: Database, course_id: str) -> dict:
    doc = db[COURSES].find_one({"_id": str(course_id)})
    if doc is None:
        raise NotFound(f"no course {course_id}")
    return doc


def channels_of(content: dict) -> list[str]:
    """The channels a course can be followed on: those any of its lessons has a rendition for."""
    return sorted({ch for u in content.get("units", []) for l in u.get("lessons", [])
                   for ch, rendition in (l.get("renditions") or {}).items() if rendition})


def publish(db: Database, course_id: str, content: dict) -> int:
    """Publish a course's content as its next version; earlier versions stay as they were
    for the learners enrolled in them. Its channels are kept as a field, and its search keys
    as rows (``COURSE_KEYS``), so that a search filters before its limit, through an index."""
    content = {**content, "channels": channels_of(content)}
    existing = db[COURSES].find_one({"_id": course_id}, {"version": 1, "subjects": 1, "channels": 1, "provider": 1})
    version = (existing or {}).get("version", 0) + 1
    db[COURSE_VERSIONS].insert_one({"_id": f"{course_id}|{version}", "course_id": course_id, "version": version,
                                    **content})
    old = {course_id: search_keys(existing)} if existing else {}
    with key_rows.kept(db[COURSE_KEYS], old, {course_id: search_keys(content)}):
        db[COURSES].update_one({"_id": course_id}, {"$set": {**content, "version": version}}, upsert=True)
    _keep_tv_slots(db, course_id, tv_slots_of(course_id, content))
    return version


def search_keys(course: dict) -> set[str]:
    """What a course is found by: each subject, each channel, its provider."""
    return ({f"s:{s}" for s in course.get("subjects") or ()} | {f"c:{c}" for c in course.get("channels") or ()}
            | ({f"p:{course['provider']}"} if course.get("provider") else set()))


def search(db: Database, *, subject: str | None, provider: str | None, channel: str | None,
           limit: int) -> list[dict]:
    """Courses with the subject, the provider and the channel asked (each when given), in
    course id order: the rows of the rarest of them, checked against each course. With none
    asked, the first ``limit`` courses as the store keeps them."""
    keys = sorted({f"s:{subject}" if subject else "", f"p:{provider}" if provider else "",
                   f"c:{channel}" if channel else ""} - {""})
    if not keys:
        return list(db[COURSES].find({}).limit(limit))
    return key_rows.matching(db[COURSE_KEYS], db[COURSES], keys, limit, lambda c: set(keys) <= search_keys(c))


def build_course_keys(db: Database) -> int | None:
    """Search rows of courses an earlier version published without them, once per database;
    returns the courses seen (None: built before)."""
    return once(db, "course_keys", lambda: key_rows.build(db[COURSE_KEYS], (
        (c["_id"], search_keys(c)) for c in db[COURSES].find({}, {"subjects": 1, "channels": 1, "provider": 1}))))


def tv_slots_of(course_id: str, content: dict) -> list[dict]:
    """The course's lessons broadcast on TV, one row each, keyed by when (a day's programme
    is one range of keys; a key that began with the date would not be read by the
    embedded store's ``find``)."""
    rows = []
    for unit in content.get("units", []):
        for lesson in unit.get("lessons", []):
            tv = (lesson.get("renditions") or {}).get("tv")
            if tv:
                key = f"tv|{tv['starts_at']}|{tv['channel']}|{course_id}|{lesson['id']}"
                rows.append({"_id": key, "k": key, "course_id": course_id, "course_title": content["title"],
                             "channel": tv["channel"], "starts_at": tv["starts_at"], "minutes": tv.get("minutes"),
                             "lesson_id": lesson["id"], "lesson_title": lesson["title"]})
    return rows


def _keep_tv_slots(db: Database, course_id: str, rows: list[dict]) -> None:
    """The course's slots become ``rows``: the new ones written first, then those it no
    longer has removed."""
    if rows:
        db[TV_SLOTS].bulk_write([pymongo.ReplaceOne({"_id": r["_id"]}, r, upsert=True) for r in rows], ordered=False)
    kept = {r["_id"] for r in rows}
    gone = [d["_id"] for d in db[TV_SLOTS].find({"course_id": course_id}, {"_id": 1}) if d["_id"] not in kept]
    if gone:
        db[TV_SLOTS].delete_many({"_id": {"$in": gone}})


def place_popsci(db: Database, placed: dict) -> None:
    """A popular-science video the library's editor placed on TV (``PopsciTvScheduledV1``):
    a slot of its own beside the lessons (its ``course_id`` names no course, so a course's
    republishing never removes it). Keyed by when and where, so the same event twice writes
    the same row."""
    course_id = f"popsci:{placed['item_id']}"
    key = f"tv|{placed['starts_at']}|{placed['channel']}|{course_id}|{placed['resource_id']}"
    db[TV_SLOTS].replace_one({"_id": key}, {
        "_id": key, "k": key, "course_id": course_id, "course_title": f"科普·{placed['provider_name']}",
        "channel": placed["channel"], "starts_at": placed["starts_at"], "minutes": placed["minutes"],
        "lesson_id": placed["resource_id"], "lesson_title": placed["title"], "resource_id": placed["resource_id"]},
        upsert=True)


def tv_guide(db: Database, day: str) -> list[dict]:
    """The TV programme for a day: every lesson (and popular-science video, with the library's
    ``resource_id`` to play it) broadcast then, by time and channel."""
    checked_day(day)
    rows = db[TV_SLOTS].find({"k": {"$gte": f"tv|{day}", "$lt": f"tv|{day}\uffff"}}).sort("k", 1).limit(5000)
    return [{**{k: r[k] for k in ("channel", "starts_at", "minutes", "course_id", "course_title", "lesson_id",
                                  "lesson_title")}, "resource_id": r.get("resource_id")} for r in rows]


def build_tv_slots(db: Database) -> int | None:
    """TV slots of courses an earlier version published without them, once per database;
    returns the courses seen (None: built before)."""
    def build() -> int:
        seen = 0
        for c in db[COURSES].find({}):
            seen += 1
            _keep_tv_slots(db, c["_id"], tv_slots_of(c["_id"], c))
        return seen
    return once(db, "tv_slots", build)


def enrolled_course(db: Database, resident_id: str, course_id: str) -> dict:
    """The version of the course this learner enrolled in (the current one if unknown)."""
    enrolment = db[ENROLMENTS].find_one({"_id": enrolment_id(resident_id, course_id)})
    if enrolment:
        kept = db[COURSE_VERSIONS].find_one({"_id": f"{course_id}|{enrolment.get('course_version', 1)}"})
        if kept:
            return {**kept, "_id": course_id}
    return course(db, course_id)


def enrolment_id(resident_id: str, course_id: str) -> str:
    return f"{resident_id}|{course_id}"


PROGRESS_PER_ENROLMENT = 500
_ABOVE_ALL = "\U0010ffff"   # sorts after any character a course id can hold


def progress_of(db: Database, enrolment_ids: list[str]) -> dict[str, list[dict]]:
    """{enrolment id: its progress records}. One indexed equality for one enrolment; for
    several of one resident, one range over their common prefix ("<resident>|"): an indexed
    range is fast on every store, where ``$in`` on this field scans the embedded one. Only
    the enrolments asked for are kept (another resident's id may share the prefix)."""
    if not enrolment_ids:
        return {}
    if len(enrolment_ids) == 1:
        query = {"enrolment": enrolment_ids[0]}
    else:
        prefix = enrolment_ids[0].split("|", 1)[0] + "|"
        if not all(e.startswith(prefix) for e in enrolment_ids):
            return {e: progress_of(db, [e])[e] for e in enrolment_ids}   # not one resident's
        query = {"enrolment": {"$gte": prefix, "$lt": prefix + _ABOVE_ALL}}
    out: dict[str, list[dict]] = {e: [] for e in enrolment_ids}
    for p in db[PROGRESS].find(query).limit(PROGRESS_PER_ENROLMENT * len(enrolment_ids)):
        kept = out.get(p.get("enrolment"))
        if kept is not None and len(kept) < PROGRESS_PER_ENROLMENT:
            kept.append(p)
    return out


def enrolments_of(db: Database, resident_id: str, limit: int = 200) -> list[dict]:
    return list(db[ENROLMENTS].find({"resident_id": resident_id}).limit(limit))


def titles(db: Database, course_ids: list[str]) -> dict[str, str]:
    """{course id: title} of the courses that exist."""
    return {c["_id"]: c["title"] for c in db[COURSES].find(
        {"_id": {"$in": course_ids}}, {"title": 1})} if course_ids else {}


def enrol(db: Database, resident_id: str, course_id: str) -> dict:
    c = course(db, course_id)
    doc = {"_id": enrolment_id(resident_id, c["_id"]), "resident_id": str(resident_id), "course_id": c["_id"],
           "course_version": c.get("version", 1), "enrolled_at": clock.now().isoformat(),
           "completed": False}
    try:
        db[ENROLMENTS].insert_one(doc)
    except pymongo.errors.DuplicateKeyError:
        return db[ENROLMENTS].find_one({"_id": doc["_id"]})
    return doc


def record_progress(db: Database, *, resident_id: str, course_id: str, lesson_id: str, position: int = 0,
                    percent: int = 0, completed: bool = False, at: datetime | None = None,
                    channel: str = "web") -> dict | None:
    """Record one progress report from any channel (tv, mobile, web, xapi). Returns the
    stored record, or None when the report was older than what is stored (ignored)."""
    enrolment = db[ENROLMENTS].find_one({"_id": enrolment_id(resident_id, course_id)})
    if enrolment is None:
        raise NotFound("not enrolled in this course")
    lessons = {l["id"] for u in enrolled_course(db, resident_id, course_id).get("units", [])
               for l in u.get("lessons", [])}
    if lesson_id not in lessons:
        raise BadInput(f"no lesson {lesson_id!r} in course {course_id}")
    if channel not in ("tv", "mobile", "web", "xapi"):
        raise BadInput("channel must be tv, mobile, web or xapi")
    if at is not None and progress.is_ahead(at, clock.now()):
        raise BadInput(f"the report is dated {at.isoformat()}, later than now: is the device's clock right?")
    pid = progress.progress_id(resident_id, course_id, lesson_id)
    for _ in range(5):  # compare-and-set on the stored time: concurrent reports cannot go backwards
        current = db[PROGRESS].find_one({"_id": pid})
        new = progress.merged(current, {"position": position, "percent": percent, "completed": completed,
                                        "at": at or clock.now(), "channel": channel})
        if new is None:
            return None
        doc = {**new, "enrolment": enrolment["_id"], "lesson_id": lesson_id}
        if current is None:
            try:
                db[PROGRESS].insert_one({"_id": pid, **doc})
                return doc
            except pymongo.errors.DuplicateKeyError:
                continue
        if db[PROGRESS].update_one({"_id": pid, "at": current["at"], "completed": current.get("completed", False)},
                                   {"$set": doc}).matched_count:
            return doc
    raise RuntimeError("progress changed too often meanwhile")
