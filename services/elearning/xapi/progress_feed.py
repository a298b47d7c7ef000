"""The lesson progress a statement reports, free of I/O: the suite's own identifiers (a
resident's account, a suite lesson's activity id) and the verbs and extensions that carry
progress (``statement_store.feed_progress`` records it)."""
from __future__ import annotations

import re
from typing import Any

from services.elearning.xapi.timestamps import parse_timestamp
from services.elearning.xapi.validation import object_kind
from services.elearning.xapi.versions import V2

# the suite's own identifiers, through which statements feed lesson progress
RESIDENTS_HOME = "https://suite.local/residents"
LESSON = re.compile(r"^https://suite\.local/courses/([A-Za-z0-9_.-]{1,64})/lessons/([A-Za-z0-9_.-]{1,64})$")
RESIDENT_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
PROGRESSED = {"http://adlnet.gov/expapi/verbs/progressed",
              # the xAPI video profile reports position and progress with these
              "https://w3id.org/xapi/video/verbs/paused", "https://w3id.org/xapi/video/verbs/played",
              "https://w3id.org/xapi/video/verbs/seeked", "http://adlnet.gov/expapi/verbs/terminated"}
COMPLETED = {"http://adlnet.gov/expapi/verbs/completed", "http://adlnet.gov/expapi/verbs/passed"}
EXT_PROGRESS = "https://w3id.org/xapi/video/extensions/progress"
EXT_TIME = "https://w3id.org/xapi/video/extensions/time"
MAX_POSITION = 10 ** 7          # seconds into a lesson (the progress contract's bound)


def progress_report(statement: dict) -> dict | None:
    """The lesson progress a stored statement reports, or None when it is about something
    else: a resident (account on the suite's residents home page) progressing in or
    completing a suite lesson activity. ``at`` is the statement's timestamp."""
    actor, obj, verb = statement["actor"], statement["object"], statement["verb"]["id"]
    account = actor.get("account") if actor.get("objectType", "Agent") == "Agent" else None
    if not account or account.get("homePage") != RESIDENTS_HOME or not RESIDENT_ID.match(account.get("name", "")):
        return None
    if object_kind(obj) != "Activity" or verb not in PROGRESSED | COMPLETED:
        return None
    lesson = LESSON.match(obj["id"])
    if not lesson:
        return None
    result = statement.get("result") or {}
    ext = result.get("extensions") or {}
    percent = None
    if _is_number(ext.get(EXT_PROGRESS)):
        percent = ext[EXT_PROGRESS]
    elif _is_number((result.get("score") or {}).get("scaled")):
        percent = result["score"]["scaled"] * 100
    position = ext.get(EXT_TIME) if _is_number(ext.get(EXT_TIME)) else 0
    completed = verb in COMPLETED or result.get("completion") is True
    return {"resident_id": account["name"], "course_id": lesson.group(1), "lesson_id": lesson.group(2),
            "percent": max(0, min(100, int(round(percent or 0)))),
            "position": max(0, min(MAX_POSITION, int(position))),
            "completed": completed, "at": parse_timestamp(statement["timestamp"], V2)}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value \
        and abs(value) != float("inf")


def resident_agent(resident_id: str) -> dict:
    """How content players name a resident (the actor the progress feed recognises)."""
    return {"objectType": "Agent", "account": {"homePage": RESIDENTS_HOME, "name": resident_id}}


def lesson_activity_id(course_id: str, lesson_id: str) -> str:
    return f"https://suite.local/courses/{course_id}/lessons/{lesson_id}"
