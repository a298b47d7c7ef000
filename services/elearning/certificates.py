"""Completion certificates, rendered from a jinja2 template (autoescaped) for a completion
recorded in the credit bank: no completion, no certificate."""
from __future__ import annotations

import hashlib
from pathlib import Path

import jinja2
from pymongo.database import Database

from services.common.errors import BadInput, NotFound
from services.elearning import courses, credits

_PAGES = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
                            autoescape=True, undefined=jinja2.StrictUndefined)


def certificate_number(entry_id: str) -> str:
    """Stable and unguessable from the learner's id: derived from the ledger entry."""
    return "ZS-" + hashlib.sha256(entry_id.encode()).hexdigest()[:12].upper()


def render(db: Database, resident_id: str, course_id: str, learner_name: str) -> dict:
    if not isinstance(learner_name, str) or not learner_name.strip() or len(learner_name) > 100:
        raise BadInput("the learner's name is needed on the certificate")
    entry = credits.find_completion_entry(db, resident_id, course_id)
    if entry is None:
        raise NotFound("no completion of this course is recorded for this learner")
    course = courses.enrolled_course(db, resident_id, course_id)
    number = certificate_number(entry["_id"])
    html = _PAGES.get_template("certificate.html").render(
        learner_name=learner_name.strip(), course_title=course["title"], provider=course.get("provider", ""),
        credits=entry["amount"], completed_on=entry["at"][:10], number=number)
    return {"number": number, "html": html}
