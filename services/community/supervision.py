"""Electronic supervision (电子监察) and residents' ratings, free of I/O: whose cases a centre clerk
or a supervisor reaches, the red and yellow counts per committee and sub-district, a 督办 (an
urging notice with a reply deadline) and its answer, a resident's rating of a closed case.

- A **supervisor** reads every case in scope (the district, or one sub-district) and changes
  nothing but by 督办; the handling committee's clerks answer it. Both are kept on the case (an
  ``urges`` entry and a trail entry each: who, when, what), so the case is the one record.
- Yellow is ``due_soon`` (due by the next working day), red ``overdue``: what the deadline timer
  raised on the working-day calendar (``cases.deadline_flag``), counted while the clock runs.
"""
from __future__ import annotations

import copy
import uuid
from datetime import date, datetime

from services.common.arguments import checked_day
from services.common.errors import BadInput, Conflict, Forbidden
from services.community.cases import FINAL, Actor, _entry, with_urge_due

SUPERVISING = ("supervisor", "admin")
NOTE_MAX, ANSWER_MAX, COMMENT_MAX = 500, 1000, 500
RATED = ("completed", "rejected")   # closed by the committee: a withdrawn case was never handled
FLAGS = ("due_soon", "overdue")
LATE_URGES = "late_urges"   # a 督办 left unanswered after its reply day, counted beside the flags
COUNTED = FLAGS + (LATE_URGES,)


# ---- scope -----------------------------------------------------------------------------------

def subdistricts_of(codes: list[str], places: dict[str, dict]) -> set[str]:
    """The sub-districts the places ``codes`` belong to (a sub-district itself, or a committee's
    parent), from ``places`` ({code: place})."""
    found = set()
    for code in codes:
        place = places.get(code) or {}
        if place.get("kind") == "subdistrict":
            found.add(code)
        elif place.get("parent"):
            found.add(place["parent"])
    return found


def reaches_place(actor: Actor, code: str, subdistricts: set[str]) -> bool:
    """Whether ``actor`` may read the cases of the place ``code`` (whose sub-district is in
    ``subdistricts``): a clerk their committee, a centre clerk or a supervisor their sub-district."""
    if actor.role == "admin" or (actor.role == "supervisor" and actor.subdistrict is None):
        return True
    if actor.role == "staff":
        return code == actor.committee
    if actor.role in ("centre", "supervisor"):
        return actor.subdistrict in subdistricts
    return False


def counts(rows: list[dict], places: list[dict], scope: str | None) -> list[dict]:
    """Per sub-district, its yellow and red open cases and its 督办 left unanswered past their
    reply day (``late_urges``), and each of its committees' (its centre first, then committees by
    code); ``rows`` are the store's groups ({committee, flag, n}), ``places`` the district's
    sub-districts and committees, ``scope`` one sub-district or None."""
    by_code = {p["_id"]: p for p in places}
    tally: dict[str, dict[str, int]] = {}
    for row in rows:
        if row["flag"] in COUNTED:
            tally.setdefault(row["committee"], dict.fromkeys(COUNTED, 0))[row["flag"]] += row["n"]
    out = []
    for sd in sorted(p["_id"] for p in places if p["kind"] == "subdistrict"):
        if scope is not None and sd != scope:
            continue
        members = [sd] + sorted(p["_id"] for p in places if p["kind"] == "committee" and p.get("parent") == sd)
        committees = [{"code": c, "name": _centre(by_code[c]) if c == sd else by_code[c]["name"],
                       **tally.get(c, dict.fromkeys(COUNTED, 0))} for c in members]
        out.append({"code": sd, "name": by_code[sd]["name"], "committees": committees,
                    **{f: sum(c[f] for c in committees) for f in COUNTED}})
    return out


def _centre(subdistrict: dict) -> str:
    return f"{subdistrict['name']}社区事务受理服务中心"


# ---- 督办 ---------------------------------------------------------------------------------------

def urge(case: dict, actor: Actor, now: datetime, today: date, note, reply_by) -> tuple[dict, dict]:
    """The case with a new 督办 by ``actor`` (a supervisor in scope: the caller checked can_see),
    and the urge; ``reply_by`` a day from ``today`` on."""
    if actor.role not in SUPERVISING:
        raise Forbidden("only a supervisor issues a 督办")
    if case["status"] in FINAL:
        raise Conflict(f"the case is closed ({case['status']}): there is nothing left to urge")
    note = _text(note, NOTE_MAX, "a 督办 says what is urged (督办意见)")
    day = checked_day(reply_by)
    if day < today:
        raise BadInput(f"the reply deadline {day.isoformat()} is in the past (today is {today.isoformat()})")
    entry = {"urge_id": uuid.uuid4().hex[:12], "by": actor.id, "at": now.isoformat(), "note": note,
             "reply_by": day.isoformat(), "answer": None, "answered_by": None, "answered_at": None}
    new = copy.deepcopy(case)
    new["urges"] = (case.get("urges") or []) + [entry]
    new["trail"] = case["trail"] + [_entry(actor, now, "urge", case["status"], case["status"], note,
                                           urge_id=entry["urge_id"], reply_by=entry["reply_by"])]
    new["version"] = case["version"] + 1
    return with_urge_due(new), entry


def answer(case: dict, actor: Actor, now: datetime, urge_id, text) -> tuple[dict, dict]:
    """The case with the 督办 ``urge_id`` answered by a clerk of the handling committee (or
    its centre); each is answered once."""
    if actor.role not in ("staff", "centre", "admin") or \
            (actor.role != "admin" and actor.desk_code != case["handling_committee"]):
        raise Forbidden("a 督办 is answered by the committee that handles the case")
    text = _text(text, ANSWER_MAX, "an answer says what was done (办理情况)")
    urges = copy.deepcopy(case.get("urges") or [])
    found = next((u for u in urges if u["urge_id"] == urge_id), None)
    if found is None:
        raise BadInput(f"the case has no 督办 {urge_id!r}")
    if found.get("answer"):
        raise Conflict("this 督办 has been answered already")
    found.update(answer=text, answered_by=actor.id, answered_at=now.isoformat())
    new = copy.deepcopy(case)
    new["urges"] = urges
    new["trail"] = case["trail"] + [_entry(actor, now, "urge_answered", case["status"], case["status"], text,
                                           urge_id=urge_id)]
    new["version"] = case["version"] + 1
    return with_urge_due(new), found


def open_urges(case: dict) -> list[dict]:
    return [u for u in case.get("urges") or [] if not u.get("answer")]


# ---- ratings -----------------------------------------------------------------------------------

def rate(case: dict, actor: Actor, now: datetime, score, comment) -> dict:
    """The case with its resident's rating (1–5 and a comment), once, after it is closed."""
    if actor.role not in ("resident", "guardian") or actor.id != case["resident_id"]:
        raise Forbidden("a case is rated by the resident whose case it is")
    if case["status"] not in RATED:
        raise Conflict("a case is rated once it is closed (办结或不予受理)")
    if case.get("rating"):
        raise Conflict("this case has been rated already")
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise BadInput("a rating is a whole number from 1 to 5")
    comment = "" if comment is None else _text(comment, COMMENT_MAX, "", allow_empty=True)
    new = copy.deepcopy(case)
    new["rating"] = {"score": score, "comment": comment, "at": now.isoformat()}
    new["trail"] = case["trail"] + [_entry(actor, now, "rate", case["status"], case["status"], f"{score}/5")]
    new["version"] = case["version"] + 1
    return new


def _text(value, limit: int, missing: str, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise BadInput(missing or "text expected")
    value = value.strip()
    if not value and not allow_empty:
        raise BadInput(missing)
    if len(value) > limit:
        raise BadInput(f"at most {limit} characters")
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in value):
        raise BadInput("control characters are not text")
    return value
