"""Learning progress, free of I/O: the newest report wins, a late older one never moves a
learner backwards, and completion once reached stays."""
from __future__ import annotations

from datetime import datetime


def progress_id(resident_id: str, course_id: str, lesson_id: str) -> str:
    return f"{resident_id}|{course_id}|{lesson_id}"


def merged(current: dict | None, report: dict) -> dict | None:
    """The progress record after ``report`` ({position, percent, completed, at, channel}),
    or None when the report changes nothing (older than what we have)."""
    at = report["at"] if isinstance(report["at"], datetime) else datetime.fromisoformat(report["at"])
    if current and datetime.fromisoformat(current["at"]) >= at:
        if report.get("completed") and not current.get("completed"):
            return {**current, "completed": True, "percent": 100}  # a late completion still counts
        return None
    completed = bool(report.get("completed")) or bool(current and current.get("completed"))
    return {"position": int(report.get("position") or 0),
            "percent": 100 if completed else max(0, min(100, int(report.get("percent") or 0))),
            "completed": completed, "at": at.isoformat(), "channel": report.get("channel", "web")}
