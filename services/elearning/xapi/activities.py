"""Activities as the LRS knows them, free of I/O: the definitions statements carry (their
object, a sub-statement's object, their context activities), merged into the one an
``/xapi/activities`` GET answers.

Merging (Communication 2.5: "all available information about an activity from any
statements"): language maps (``name``, ``description``) and ``extensions`` gather their
entries, a later statement's entry replacing an earlier one for the same language or key;
every other property (``type``, ``moreInfo``, ``interactionType``, the response pattern and
the interaction components) is the latest statement's.
"""
from __future__ import annotations

from typing import Iterable

from services.elearning.xapi.validation import object_kind

GATHERED = ("name", "description", "extensions")


def _activities_of(statement: dict) -> Iterable[dict]:
    parts = [statement]
    if object_kind(statement["object"]) == "SubStatement":
        parts.append(statement["object"])
    for part in parts:
        if object_kind(part["object"]) == "Activity":
            yield part["object"]
        for acts in ((part.get("context") or {}).get("contextActivities") or {}).values():
            yield from acts


def definitions(statements: Iterable[dict]) -> dict[str, dict]:
    """The definitions these statements carry, by activity id, merged in statement order."""
    out: dict[str, dict] = {}
    for s in statements:
        for activity in _activities_of(s):
            if activity.get("definition"):
                out[activity["id"]] = merge_definition(out.get(activity["id"]), activity["definition"])
    return out


def merge_definition(known: dict | None, new: dict) -> dict:
    """``new`` merged over ``known`` (as the module says)."""
    merged = dict(known or {})
    for name, value in new.items():
        if name in GATHERED and isinstance(merged.get(name), dict):
            merged[name] = {**merged[name], **value}
        else:
            merged[name] = value
    return merged


def activity_object(activity_id: str, definition: dict | None) -> dict:
    """The Activity object a GET answers: its id as asked, its definition when one is known."""
    out = {"objectType": "Activity", "id": activity_id}
    if definition:
        out["definition"] = definition
    return out
