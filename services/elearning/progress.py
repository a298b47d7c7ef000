"""Learning progress, free of I/O: the newest report wins, a late older one never moves a
learner backwards, and completion once reached stays."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

MAX_AHEAD = timedelta(minutes=5)   # a device clock set far ahead would otherwise freeze the learner's place


def is_ahead(at: datetime | str, now: datetime) -> bool:
    """A report dated later than ``now`` allows for: every true report after it would count
    as older and be ignored."""
    return utc(at) > now + MAX_AHEAD


def progress_id(resident_id: str, course_id: str, lesson_id: str) -> str:
    return f"{resident_id}|{course_id}|{lesson_id}"


def utc(moment: datetime | str) -> datetime:
    """A report's time in UTC: stored so, times sent with different offsets compare and sort
    as the moments they are (a time without an offset is taken as UTC)."""
    at = moment if isinstance(moment, datetime) else datetime.fromisoformat(moment)
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


def last_activity(records: list[dict]) -> str | None:
    """The latest time among progress records, compared as moments (in UTC)."""
    latest = max((utc(r["at"]) for r in records), default=None)
    return latest.isoformat() if latest else None


def lesson_views(records: list[dict]) -> list[dict]:
    """Where the learner is in each lesson started, most recent first (what another device
    resumes from)."""
    ordered = sorted(records, key=lambda r: utc(r["at"]), reverse=True)
    return [{"lesson_id": r["lesson_id"], "position": int(r.get("position") or 0), "percent": int(r.get("percent") or 0),
             "completed": bool(r.get("completed")), "at": utc(r["at"]).isoformat(), "channel": r.get("channel") or "web"}
            for r in ordered]


def enrolment_view(enrolment: dict, course_title: str, records: list[dict]) -> dict:
    """An enrolment as the learner sees it: the course, how far they are, each lesson started."""
    return {"course_id": enrolment["course_id"], "course_title": course_title,
            "completed": bool(enrolment.get("completed")), "enrolled_at": enrolment["enrolled_at"],
            "lessons_completed": sum(1 for p in records if p.get("completed")),
            "last_activity": last_activity(records), "lessons": lesson_views(records)}


def merged(current: dict | None, report: dict) -> dict | None:
    """The progress record after ``report`` ({position, percent, completed, at, channel}),
    or None when the report changes nothing (older than what we have)."""
    at = utc(report["at"])
    if current and utc(current["at"]) >= at:
        if report.get("completed") and not current.get("completed"):
            return {**current, "completed": True, "percent": 100}  # a late completion still counts
        return None
    completed = bool(report.get("completed")) or bool(current and current.get("completed"))
    return {"position": int(report.get("position") or 0),
            "percent": 100 if completed else max(0, min(100, int(report.get("percent") or 0))),
            "completed": completed, "at": at.isoformat(), "channel": report.get("channel", "web")}
