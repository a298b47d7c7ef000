"""Statements checked against the xAPI data model and normalised, free of I/O: verb,
object (Activity and its definition, Agent or Group, StatementRef, SubStatement), result,
context, attachments. Every refusal is a 400 naming the property at fault."""
from __future__ import annotations

import copy
import re
import uuid
from typing import Any

from services.elearning.xapi.agents import ifi, validate_agent
from services.elearning.xapi.errors import bad
from services.elearning.xapi.timestamps import format_timestamp, parse_timestamp
from services.elearning.xapi.values import (LANGTAG, allowed_only, checked_bool, checked_iri, checked_number,
                                            checked_object, checked_string, checked_uuid, extensions_map,
                                            language_map, no_nulls, parse_json)
from services.elearning.xapi.versions import STATEMENT_VERSION, V1, V2

VOIDED = "http://adlnet.gov/expapi/verbs/voided"

_DURATION = re.compile(
    r"^P(?:(?:\d+(?:\.\d+)?Y)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?D)?"
    r"(?:T(?:\d+(?:\.\d+)?H)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?S)?)?|\d+(?:\.\d+)?W)$")
INTERACTION_TYPES = {"true-false", "choice", "fill-in", "long-fill-in", "matching", "performance",
                     "sequencing", "likert", "numeric", "other"}
COMPONENT_LISTS = {"choices": {"choice", "sequencing"}, "scale": {"likert"}, "source": {"matching"},
                   "target": {"matching"}, "steps": {"performance"}}
CONTEXT_ACTIVITY_KINDS = ("parent", "grouping", "category", "other")


def _verb(value: Any, path: str) -> dict:
    obj = checked_object(value, path)
    allowed_only(obj, ("id", "display"), path)
    if "id" not in obj:
        raise bad(f"{path}.id is required")
    checked_iri(obj["id"], f"{path}.id")
    if "display" in obj:
        language_map(obj["display"], f"{path}.display")
    return obj


def _components(value: Any, path: str) -> list:
    if not isinstance(value, list):
        raise bad(f"{path} must be an array of interaction components")
    seen = set()
    for i, c in enumerate(value):
        cpath = f"{path}[{i}]"
        checked_object(c, cpath)
        allowed_only(c, ("id", "description"), cpath)
        cid = checked_string(c.get("id"), f"{cpath}.id", empty=False)
        if cid in seen:
            raise bad(f"{path}: interaction component ids must be distinct ({cid[:30]!r} twice)")
        seen.add(cid)
        if "description" in c:
            language_map(c["description"], f"{cpath}.description")
    return value


def _definition(value: Any, path: str) -> dict:
    obj = checked_object(value, path)
    allowed_only(obj, ("name", "description", "type", "moreInfo", "extensions", "interactionType",
                       "correctResponsesPattern", *COMPONENT_LISTS), path)
    for p in ("name", "description"):
        if p in obj:
            language_map(obj[p], f"{path}.{p}")
    for p in ("type", "moreInfo"):
        if p in obj:
            checked_iri(obj[p], f"{path}.{p}")
    if "extensions" in obj:
        extensions_map(obj["extensions"], f"{path}.extensions")
    kind = obj.get("interactionType")
    if kind is not None and (not isinstance(kind, str) or kind not in INTERACTION_TYPES):
        raise bad(f"{path}.interactionType must be one of {', '.join(sorted(INTERACTION_TYPES))}")
    if "correctResponsesPattern" in obj:
        if kind is None:
            raise bad(f"{path}: correctResponsesPattern needs an interactionType")
        pattern = obj["correctResponsesPattern"]
        if not isinstance(pattern, list) or not all(isinstance(p, str) for p in pattern):
            raise bad(f"{path}.correctResponsesPattern must be an array of strings")
    for name, kinds in COMPONENT_LISTS.items():
        if name in obj:
            if kind not in kinds:
                raise bad(f"{path}.{name} is only for interactionType {' or '.join(sorted(kinds))}")
            _components(obj[name], f"{path}.{name}")
    return obj


def _activity(value: Any, path: str) -> dict:
    obj = checked_object(value, path)
    if obj.get("objectType", "Activity") != "Activity":
        raise bad(f"{path}.objectType must be 'Activity'")
    allowed_only(obj, ("objectType", "id", "definition"), path)
    if "id" not in obj:
        raise bad(f"{path}.id is required")
    checked_iri(obj["id"], f"{path}.id")
    if "definition" in obj:
        _definition(obj["definition"], f"{path}.definition")
    return obj


def _statement_ref(value: Any, path: str) -> dict:
    obj = checked_object(value, path)
    if obj.get("objectType") != "StatementRef":
        raise bad(f"{path}.objectType must be 'StatementRef'")
    allowed_only(obj, ("objectType", "id"), path)
    obj["id"] = checked_uuid(obj.get("id"), f"{path}.id")
    return obj


def object_kind(obj: dict) -> str:
    return obj.get("objectType", "Activity")


def _object_of(value: Any, path: str, version: str, *, sub: bool) -> dict:
    obj = checked_object(value, path)
    kind = object_kind(obj)
    if kind == "Activity":
        return _activity(obj, path)
    if kind in ("Agent", "Group"):
        return validate_agent(obj, path)
    if kind == "StatementRef":
        return _statement_ref(obj, path)
    if kind == "SubStatement":
        if sub:
            raise bad(f"{path}: a SubStatement cannot contain another SubStatement")
        return _substatement(obj, path, version)
    raise bad(f"{path}.objectType {str(kind)[:30]!r} is not Activity, Agent, Group, StatementRef or SubStatement")


def _score(value: Any, path: str) -> dict:
    obj = checked_object(value, path)
    allowed_only(obj, ("scaled", "raw", "min", "max"), path)
    for p in obj:
        checked_number(obj[p], f"{path}.{p}")
    if "scaled" in obj and not -1 <= obj["scaled"] <= 1:
        raise bad(f"{path}.scaled must be between -1 and 1")
    if "min" in obj and "max" in obj and not obj["min"] < obj["max"]:
        raise bad(f"{path}.min must be less than max")
    if "raw" in obj and ("min" in obj and obj["raw"] < obj["min"] or "max" in obj and obj["raw"] > obj["max"]):
        raise bad(f"{path}.raw must be between min and max")
    return obj


def _result(value: Any, path: str) -> dict:
    obj = checked_object(value, path)
    allowed_only(obj, ("score", "success", "completion", "response", "duration", "extensions"), path)
    if "score" in obj:
        _score(obj["score"], f"{path}.score")
    for p in ("success", "completion"):
        if p in obj:
            checked_bool(obj[p], f"{path}.{p}")
    if "response" in obj:
        checked_string(obj["response"], f"{path}.response")
    if "duration" in obj:
        if not isinstance(obj["duration"], str) or obj["duration"] in ("P", "PT") or obj["duration"].endswith("T") \
                or not _DURATION.match(obj["duration"]):
            raise bad(f"{path}.duration must be an ISO 8601 duration")
    if "extensions" in obj:
        extensions_map(obj["extensions"], f"{path}.extensions")
    return obj


def _context(value: Any, path: str, version: str, object_is_activity: bool) -> dict:
    obj = checked_object(value, path)
    allowed = ["registration", "instructor", "team", "contextActivities", "revision", "platform",
               "language", "statement", "extensions"]
    if version == V2:
        allowed += ["contextAgents", "contextGroups"]
    allowed_only(obj, allowed, path)
    if "registration" in obj:
        obj["registration"] = checked_uuid(obj["registration"], f"{path}.registration")
    if "instructor" in obj:
        validate_agent(obj["instructor"], f"{path}.instructor")
    if "team" in obj:
        team = checked_object(obj["team"], f"{path}.team")
        if team.get("objectType") != "Group":
            raise bad(f"{path}.team must be a Group (objectType 'Group')")
        validate_agent(team, f"{path}.team")
    if "contextActivities" in obj:
        ca = checked_object(obj["contextActivities"], f"{path}.contextActivities")
        allowed_only(ca, CONTEXT_ACTIVITY_KINDS, f"{path}.contextActivities")
        for kind, acts in list(ca.items()):
            listed = acts if isinstance(acts, list) else [acts]   # a single Activity becomes an array
            ca[kind] = [_activity(a, f"{path}.contextActivities.{kind}[{i}]") for i, a in enumerate(listed)]
    for p in ("revision", "platform"):
        if p in obj:
            checked_string(obj[p], f"{path}.{p}")
            if not object_is_activity:
                raise bad(f"{path}.{p} may only be used when the statement's object is an Activity")
    if "language" in obj and (not isinstance(obj["language"], str) or not LANGTAG.match(obj["language"])):
        raise bad(f"{path}.language must be an RFC 5646 language tag")
    if "statement" in obj:
        _statement_ref(obj["statement"], f"{path}.statement")
    if "extensions" in obj:
        extensions_map(obj["extensions"], f"{path}.extensions")
    for p, kind, member, group in (("contextAgents", "contextAgent", "agent", False),
                                   ("contextGroups", "contextGroup", "group", True)):
        if p not in obj:
            continue
        if not isinstance(obj[p], list):
            raise bad(f"{path}.{p} must be an array")
        for i, item in enumerate(obj[p]):
            ipath = f"{path}.{p}[{i}]"
            checked_object(item, ipath)
            allowed_only(item, ("objectType", member, "relevantTypes"), ipath)
            if item.get("objectType") != kind:
                raise bad(f"{ipath}.objectType must be {kind!r}")
            if member not in item:
                raise bad(f"{ipath}.{member} is required")
            if group:
                if checked_object(item[member], f"{ipath}.{member}").get("objectType") != "Group":
                    raise bad(f"{ipath}.{member} must be a Group")
                validate_agent(item[member], f"{ipath}.{member}")
            else:
                validate_agent(item[member], f"{ipath}.{member}", group_ok=False)
            if "relevantTypes" in item:
                types = item["relevantTypes"]
                if not isinstance(types, list) or not types:
                    raise bad(f"{ipath}.relevantTypes must be a non-empty array of IRIs")
                for j, t in enumerate(types):
                    checked_iri(t, f"{ipath}.relevantTypes[{j}]")
    return obj


def _attachments(value: Any, path: str) -> list:
    if not isinstance(value, list):
        raise bad(f"{path} must be an array")
    for i, a in enumerate(value):
        apath = f"{path}[{i}]"
        checked_object(a, apath)
        allowed_only(a, ("usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"), apath)
        for p in ("usageType", "display", "contentType", "length", "sha2"):
            if p not in a:
                raise bad(f"{apath}.{p} is required")
        checked_iri(a["usageType"], f"{apath}.usageType")
        language_map(a["display"], f"{apath}.display")
        if "description" in a:
            language_map(a["description"], f"{apath}.description")
        checked_string(a["contentType"], f"{apath}.contentType", empty=False)
        if isinstance(a["length"], bool) or not isinstance(a["length"], int) or a["length"] < 0:
            raise bad(f"{apath}.length must be a whole number of bytes")
        if not isinstance(a["sha2"], str) or not re.match(r"^[0-9a-fA-F]{56,128}$", a["sha2"]):
            raise bad(f"{apath}.sha2 must be a hex SHA-2 digest")
        if "fileUrl" in a:
            checked_iri(a["fileUrl"], f"{apath}.fileUrl")
        # without fileUrl its raw data comes as a multipart/mixed part: see check_attachment_data
    return value


_COMMON = ("actor", "verb", "object", "result", "context", "timestamp", "attachments")
TOP_LEVEL = ("id", *_COMMON, "stored", "authority", "version")


def _common(s: dict, path: str, version: str, *, sub: bool) -> None:
    for p in ("actor", "verb", "object"):
        if p not in s:
            raise bad(f"{path}.{p} is required")
    validate_agent(s["actor"], f"{path}.actor")
    _verb(s["verb"], f"{path}.verb")
    s["object"] = _object_of(s["object"], f"{path}.object", version, sub=sub)
    if s["verb"]["id"] == VOIDED and object_kind(s["object"]) != "StatementRef":
        raise bad(f"{path}: a voiding statement's object must be a StatementRef")
    if "result" in s:
        _result(s["result"], f"{path}.result")
    if "context" in s:
        _context(s["context"], f"{path}.context", version, object_kind(s["object"]) == "Activity")
    if "timestamp" in s:
        s["timestamp"] = format_timestamp(parse_timestamp(s["timestamp"], version, f"{path}.timestamp"))
    if "attachments" in s:
        _attachments(s["attachments"], f"{path}.attachments")


def _authority(value: Any, path: str) -> dict:
    """An Agent, or an anonymous Group of exactly two Agents (an OAuth consumer and the
    user it acts for: Data 2.4.9)."""
    obj = validate_agent(value, path)
    if obj.get("objectType") == "Group":
        if ifi(obj) is not None:
            raise bad(f"{path}: a Group authority is anonymous (no mbox, mbox_sha1sum, openid or account)")
        if len(obj.get("member") or []) != 2:
            raise bad(f"{path}: a Group authority has exactly two members (an OAuth consumer and a user)")
    return obj


def _substatement(obj: dict, path: str, version: str) -> dict:
    allowed_only(obj, ("objectType", *_COMMON), path)
    _common(obj, path, version, sub=True)
    return obj


def validate_statement(raw: Any, version: str, path: str = "statement") -> dict:
    """A checked, normalised copy of a statement as received (``id`` lowercased, timestamps
    in UTC, single context activities as arrays). ``stored``/``authority`` given by the client
    are checked for form and then left to the LRS to overwrite."""
    if not isinstance(raw, dict):
        raise bad(f"{path} must be a JSON object")
    no_nulls(raw, path)
    s = copy.deepcopy(raw)
    allowed_only(s, TOP_LEVEL, path)
    if "id" in s:
        s["id"] = checked_uuid(s["id"], f"{path}.id")
    _common(s, path, version, sub=False)
    if "stored" in s:
        parse_timestamp(s["stored"], version, f"{path}.stored")
    if "authority" in s:
        _authority(s["authority"], f"{path}.authority")
    if "version" in s:
        if not isinstance(s["version"], str) or not STATEMENT_VERSION[version].match(s["version"]):
            allowed = "1.0.x" if version == V1 else "1.0.x or 2.0.x"
            raise bad(f"{path}.version must be {allowed} under xAPI {version}")
    return s


def parse_statements(body: bytes, version: str) -> tuple[list[dict], bool]:
    """The statements of a POST body (one or an array): validated, with ids. The flag says
    whether the body was a single statement. A batch that repeats an id is refused."""
    data = parse_json(body, "the request body")
    single = isinstance(data, dict)
    items = [data] if single else data
    if not isinstance(items, list) or not items:
        raise bad("expected a statement or a non-empty array of statements")
    out = [validate_statement(s, version, "statement" if single else f"statement[{i}]") for i, s in enumerate(items)]
    seen: set[str] = set()
    for s in out:
        s.setdefault("id", str(uuid.uuid4()))
        if s["id"] in seen:
            raise bad(f"the batch has two statements with the id {s['id']}")
        seen.add(s["id"])
    return out, single
