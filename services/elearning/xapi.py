"""xAPI (Experience API) Learning Record Store rules, free of I/O: versions, statement
validation and normalisation, comparison, the match keys a statement is found by, queries
and their cursors, output formats, document ETags and preconditions, and the progress a
statement reports for the suite's own lessons.

Both xAPI 1.0.3 and 2.0.0 (IEEE 9274.1.1) are spoken, chosen per request by the
``X-Experience-API-Version`` header. What differs here:

- 2.0.0 allows ``context.contextAgents`` and ``context.contextGroups`` (1.0.3 rejects them as
  unknown properties);
- 2.0.0 timestamps (in statements and in ``since``/``until``) must carry a time zone; 1.0.3
  takes a timestamp without one as UTC;
- a statement stored without ``version`` gets ``1.0.0`` (1.0.3: "always 1.0.0 for 1.0.x") or
  ``2.0.0``; 1.0.3 accepts only 1.0.x statements, 2.0.0 accepts 1.0.x and 2.0.x;
- ``GET /xapi/about`` lists both;
- 1.0.3 requires the alternate request syntax (a POST with ``?method=``, parameters, headers
  and content in a form, for browsers that cannot send CORS requests); 2.0.0 removed it, so
  it is refused there (see ``unpack_alternate``).

Attachment data (statements sent as multipart/mixed, each raw attachment a part with its
``X-Experience-API-Hash``) is taken in both versions, its hash checked, and given back as
multipart/mixed on ``GET ...&attachments=true`` (see ``read_multipart``).

State documents: the text of both versions lets a client PUT, POST and DELETE state without
``If-Match``/``If-None-Match`` ("state conflicts are unlikely"; the 409 rule is for the two
profile resources only). Content players (Storyline/Rise's scormdriver among them) rely on
that to save their bookmark, so a PUT over an existing state document without either header
replaces it in both versions (never 409 or 428); when the headers are sent they are honoured
(412 when they fail). See ``state_precondition``.
"""
from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import json
import re
import secrets
import urllib.parse
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

# ---- versions -----------------------------------------------------------------------------------

V1 = "1.0.3"
V2 = "2.0.0"
ABOUT_VERSIONS = [V1, V2]
LATEST = V2
_V1_HEADER = re.compile(r"^1\.0(\.\d+)?$")
_V2_HEADER = re.compile(r"^2\.0(\.\d+)?$")
_STATEMENT_VERSION = {V1: re.compile(r"^1\.0(\.\d+)?$"), V2: re.compile(r"^(1|2)\.0(\.\d+)?$")}
DEFAULT_STATEMENT_VERSION = {V1: "1.0.0", V2: "2.0.0"}

VOIDED = "http://adlnet.gov/expapi/verbs/voided"

# the suite's own identifiers, through which statements feed lesson progress
RESIDENTS_HOME = "https://suite.local/residents"
CLIENTS_HOME = "https://suite.local/xapi/clients"
LESSON = re.compile(r"^https://suite\.local/courses/([A-Za-z0-9_.-]{1,64})/lessons/([A-Za-z0-9_.-]{1,64})$")
RESIDENT_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
PROGRESSED = {"http://adlnet.gov/expapi/verbs/progressed",
              # the xAPI video profile reports position and progress with these
              "https://w3id.org/xapi/video/verbs/paused", "https://w3id.org/xapi/video/verbs/played",
              "https://w3id.org/xapi/video/verbs/seeked", "http://adlnet.gov/expapi/verbs/terminated"}
COMPLETED = {"http://adlnet.gov/expapi/verbs/completed", "http://adlnet.gov/expapi/verbs/passed"}
EXT_PROGRESS = "https://w3id.org/xapi/video/extensions/progress"
EXT_TIME = "https://w3id.org/xapi/video/extensions/time"

MAX_LIMIT = 100                 # statements per page: the default, and the most a client gets
MAX_POSITION = 10 ** 7          # seconds into a lesson (the progress contract's bound)


class XapiError(Exception):
    """A refusal with the status the specification gives it."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def bad(message: str) -> XapiError:
    return XapiError(400, message)


def negotiate_version(header: str | None) -> str:
    """The version a request speaks (``X-Experience-API-Version``): 400 when missing or unknown."""
    if header is None or not header.strip():
        raise bad("the X-Experience-API-Version header is required (1.0.3 or 2.0.0)")
    value = header.strip()
    if _V1_HEADER.match(value):
        return V1
    if _V2_HEADER.match(value):
        return V2
    raise bad(f"unsupported xAPI version {value[:20]!r}: this LRS speaks {', '.join(ABOUT_VERSIONS)}")


def about() -> dict:
    return {"version": list(ABOUT_VERSIONS)}


# ---- formats ------------------------------------------------------------------------------------

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s\x00-\x1f\x7f<>\"{}|\\^`]+$")
_MBOX = re.compile(r"^mailto:([^\s@:/?#]+)@([^\s@/?#]+)$")
_SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")
_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$")
_DURATION = re.compile(
    r"^P(?:(?:\d+(?:\.\d+)?Y)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?D)?"
    r"(?:T(?:\d+(?:\.\d+)?H)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?S)?)?|\d+(?:\.\d+)?W)$")
# RFC 5646 language tags: the token-length sequence (langtag, private use, i- grandfathered)
_LANGTAG = re.compile(
    r"^(?:(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})"   # language (+ extlang)
    r"(?:-[A-Za-z]{4})?"                                           # script
    r"(?:-(?:[A-Za-z]{2}|\d{3}))?"                                 # region
    r"(?:-(?:[A-Za-z0-9]{5,8}|\d[A-Za-z0-9]{3}))*"                 # variants
    r"(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z0-9]{2,8})+)*"               # extensions
    r"(?:-[xX](?:-[A-Za-z0-9]{1,8})+)?"                            # private use
    r"|[xX](?:-[A-Za-z0-9]{1,8})+|[iI]-[A-Za-z]{2,8})$")
MAX_IRI = 4096
MAX_STRING = 65536
INTERACTION_TYPES = {"true-false", "choice", "fill-in", "long-fill-in", "matching", "performance",
                     "sequencing", "likert", "numeric", "other"}
COMPONENT_LISTS = {"choices": {"choice", "sequencing"}, "scale": {"likert"}, "source": {"matching"},
                   "target": {"matching"}, "steps": {"performance"}}
CONTEXT_ACTIVITY_KINDS = ("parent", "grouping", "category", "other")


def is_uuid(value: Any) -> bool:
    return isinstance(value, str) and bool(_UUID.match(value))


def parse_timestamp(value: Any, version: str, what: str = "timestamp") -> datetime:
    """An ISO 8601 (RFC 3339 profile) timestamp as an aware UTC datetime. 2.0.0 requires a
    time zone; 1.0.3 reads one without as UTC. A negative zero offset is refused."""
    if not isinstance(value, str):
        raise bad(f"{what} must be an ISO 8601 timestamp string")
    m = _TIMESTAMP.match(value)
    if not m:
        raise bad(f"{what} is not an ISO 8601 timestamp: {value[:40]!r}")
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    if zone is None and version == V2:
        raise bad(f"{what} must include a time zone offset in xAPI 2.0.0: {value[:40]!r}")
    if zone and zone.startswith("-") and set(zone[1:].replace(":", "")) == {"0"}:
        raise bad(f"{what} must not use a negative zero offset: {value[:40]!r}")
    try:
        micros = int((fraction or "0")[:6].ljust(6, "0"))
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micros)
    except ValueError:
        raise bad(f"{what} is not a valid date and time: {value[:40]!r}") from None
    offset = timedelta(0)
    if zone and zone != "Z":
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        if hours > 23 or minutes > 59:
            raise bad(f"{what} has an invalid offset: {value[:40]!r}")
        offset = timedelta(hours=hours, minutes=minutes) * (1 if zone[0] == "+" else -1)
    try:
        return moment.replace(tzinfo=timezone(offset)).astimezone(timezone.utc)
    except OverflowError:   # 0001-01-01T00:00+01:00 or 9999-12-31T23:59-05:00 leave the calendar in UTC
        raise bad(f"{what} is outside the calendar in UTC: {value[:40]!r}") from None


def format_timestamp(moment: datetime) -> str:
    """UTC, with milliseconds (or microseconds when the moment has them)."""
    utc = moment.astimezone(timezone.utc)
    spec = "milliseconds" if utc.microsecond % 1000 == 0 else "microseconds"
    return utc.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def stored_text(moment: datetime) -> str:
    """The ``stored`` property: UTC with milliseconds."""
    utc = moment.astimezone(timezone.utc)
    return utc.replace(tzinfo=None, microsecond=utc.microsecond // 1000 * 1000).isoformat(
        timespec="milliseconds") + "Z"


def order_text(moment: datetime) -> str:
    """Fixed-width UTC with microseconds: sorts as text in time order (the stored order key)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---- validation -----------------------------------------------------------------------------------

def _object(value: Any, path: str) -> dict:
    if not isinstance(value, dict):
        raise bad(f"{path} must be a JSON object")
    return value


def _allowed(obj: dict, allowed: Iterable[str], path: str) -> None:
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        raise bad(f"{path}: property {unknown[0]!r} is not allowed here")


def _string(value: Any, path: str, *, empty: bool = True) -> str:
    if not isinstance(value, str):
        raise bad(f"{path} must be a string")
    if not empty and value == "":
        raise bad(f"{path} must not be empty")
    if len(value) > MAX_STRING:
        raise bad(f"{path} is too long")
    return value


def _iri(value: Any, path: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_IRI or not _IRI.match(value):
        raise bad(f"{path} must be an absolute IRI with a scheme")
    return value


def _uuid(value: Any, path: str) -> str:
    if not is_uuid(value):
        raise bad(f"{path} must be a UUID in its standard string form")
    return value.lower()


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise bad(f"{path} must be true or false")
    return value


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise bad(f"{path} must be a number")
    return value


def _language_map(value: Any, path: str) -> dict:
    obj = _object(value, path)
    for tag, text in obj.items():
        if not _LANGTAG.match(tag):
            raise bad(f"{path}: {tag[:20]!r} is not an RFC 5646 language tag")
        _string(text, f"{path}.{tag}")
    return obj


def _extensions(value: Any, path: str) -> dict:
    obj = _object(value, path)
    for key in obj:
        _iri(key, f"{path} key {key[:60]!r}")
    return obj  # values are anything (the LRS must not reject on them)


def _no_nulls(value: Any, path: str) -> None:
    """Reject null anywhere except inside extensions."""
    if value is None:
        raise bad(f"{path} must not be null")
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "extensions":
                if v is None:
                    raise bad(f"{path}.extensions must not be null")
                continue
            _no_nulls(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _no_nulls(v, f"{path}[{i}]")


def _account(value: Any, path: str) -> dict:
    obj = _object(value, path)
    _allowed(obj, ("homePage", "name"), path)
    if "homePage" not in obj or "name" not in obj:
        raise bad(f"{path} needs both homePage and name")
    _iri(obj["homePage"], f"{path}.homePage")
    _string(obj["name"], f"{path}.name", empty=False)
    return obj


IFI_PROPERTIES = ("mbox", "mbox_sha1sum", "openid", "account")


def _ifis(obj: dict, path: str) -> list[str]:
    present = [p for p in IFI_PROPERTIES if p in obj]
    for p in present:
        if p == "mbox":
            if not isinstance(obj[p], str) or not _MBOX.match(obj[p]):
                raise bad(f"{path}.mbox must be a mailto: IRI of an e-mail address")
        elif p == "mbox_sha1sum":
            if not isinstance(obj[p], str) or not _SHA1.match(obj[p]):
                raise bad(f"{path}.mbox_sha1sum must be a hex SHA-1 digest")
        elif p == "openid":
            _iri(obj[p], f"{path}.openid")
        else:
            _account(obj[p], f"{path}.account")
    return present


def validate_agent(value: Any, path: str, *, group_ok: bool = True, need_type: bool = False) -> dict:
    """An Agent, or (when ``group_ok``) a Group; ``need_type`` when objectType is required."""
    obj = _object(value, path)
    kind = obj.get("objectType", None if not need_type else "")
    if kind == "Group":
        if not group_ok:
            raise bad(f"{path} must be an Agent, not a Group")
        return _group(obj, path)
    if kind not in (None, "Agent"):
        raise bad(f"{path}.objectType must be 'Agent'" + (" or 'Group'" if group_ok else ""))
    _allowed(obj, ("objectType", "name", *IFI_PROPERTIES), path)
    if "name" in obj:
        _string(obj["name"], f"{path}.name")
    if len(_ifis(obj, path)) != 1:
        raise bad(f"{path} must have exactly one inverse functional identifier "
                  "(mbox, mbox_sha1sum, openid or account)")
    return obj


def _group(obj: dict, path: str) -> dict:
    _allowed(obj, ("objectType", "name", "member", *IFI_PROPERTIES), path)
    if "name" in obj:
        _string(obj["name"], f"{path}.name")
    ifis = _ifis(obj, path)
    if len(ifis) > 1:
        raise bad(f"{path}: an identified Group has exactly one inverse functional identifier")
    if "member" in obj:
        if not isinstance(obj["member"], list):
            raise bad(f"{path}.member must be an array of Agents")
        for i, m in enumerate(obj["member"]):
            validate_agent(m, f"{path}.member[{i}]", group_ok=False)
    if not ifis and not obj.get("member"):
        raise bad(f"{path}: an anonymous Group must list its members")
    return obj


def _verb(value: Any, path: str) -> dict:
    obj = _object(value, path)
    _allowed(obj, ("id", "display"), path)
    if "id" not in obj:
        raise bad(f"{path}.id is required")
    _iri(obj["id"], f"{path}.id")
    if "display" in obj:
        _language_map(obj["display"], f"{path}.display")
    return obj


def _components(value: Any, path: str) -> list:
    if not isinstance(value, list):
        raise bad(f"{path} must be an array of interaction components")
    seen = set()
    for i, c in enumerate(value):
        cpath = f"{path}[{i}]"
        _object(c, cpath)
        _allowed(c, ("id", "description"), cpath)
        cid = _string(c.get("id"), f"{cpath}.id", empty=False)
        if cid in seen:
            raise bad(f"{path}: interaction component ids must be distinct ({cid[:30]!r} twice)")
        seen.add(cid)
        if "description" in c:
            _language_map(c["description"], f"{cpath}.description")
    return value


def _definition(value: Any, path: str) -> dict:
    obj = _object(value, path)
    _allowed(obj, ("name", "description", "type", "moreInfo", "extensions", "interactionType",
                   "correctResponsesPattern", *COMPONENT_LISTS), path)
    for p in ("name", "description"):
        if p in obj:
            _language_map(obj[p], f"{path}.{p}")
    for p in ("type", "moreInfo"):
        if p in obj:
            _iri(obj[p], f"{path}.{p}")
    if "extensions" in obj:
        _extensions(obj["extensions"], f"{path}.extensions")
    kind = obj.get("interactionType")
    if kind is not None and kind not in INTERACTION_TYPES:
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
    obj = _object(value, path)
    if obj.get("objectType", "Activity") != "Activity":
        raise bad(f"{path}.objectType must be 'Activity'")
    _allowed(obj, ("objectType", "id", "definition"), path)
    if "id" not in obj:
        raise bad(f"{path}.id is required")
    _iri(obj["id"], f"{path}.id")
    if "definition" in obj:
        _definition(obj["definition"], f"{path}.definition")
    return obj


def _statement_ref(value: Any, path: str) -> dict:
    obj = _object(value, path)
    if obj.get("objectType") != "StatementRef":
        raise bad(f"{path}.objectType must be 'StatementRef'")
    _allowed(obj, ("objectType", "id"), path)
    obj["id"] = _uuid(obj.get("id"), f"{path}.id")
    return obj


def object_kind(obj: dict) -> str:
    return obj.get("objectType", "Activity")


def _object_of(value: Any, path: str, version: str, *, sub: bool) -> dict:
    obj = _object(value, path)
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
    obj = _object(value, path)
    _allowed(obj, ("scaled", "raw", "min", "max"), path)
    for p in obj:
        _number(obj[p], f"{path}.{p}")
    if "scaled" in obj and not -1 <= obj["scaled"] <= 1:
        raise bad(f"{path}.scaled must be between -1 and 1")
    if "min" in obj and "max" in obj and not obj["min"] < obj["max"]:
        raise bad(f"{path}.min must be less than max")
    if "raw" in obj and ("min" in obj and obj["raw"] < obj["min"] or "max" in obj and obj["raw"] > obj["max"]):
        raise bad(f"{path}.raw must be between min and max")
    return obj


def _result(value: Any, path: str) -> dict:
    obj = _object(value, path)
    _allowed(obj, ("score", "success", "completion", "response", "duration", "extensions"), path)
    if "score" in obj:
        _score(obj["score"], f"{path}.score")
    for p in ("success", "completion"):
        if p in obj:
            _bool(obj[p], f"{path}.{p}")
    if "response" in obj:
        _string(obj["response"], f"{path}.response")
    if "duration" in obj:
        if not isinstance(obj["duration"], str) or obj["duration"] in ("P", "PT") or obj["duration"].endswith("T") \
                or not _DURATION.match(obj["duration"]):
            raise bad(f"{path}.duration must be an ISO 8601 duration")
    if "extensions" in obj:
        _extensions(obj["extensions"], f"{path}.extensions")
    return obj


def _context(value: Any, path: str, version: str, object_is_activity: bool) -> dict:
    obj = _object(value, path)
    allowed = ["registration", "instructor", "team", "contextActivities", "revision", "platform",
               "language", "statement", "extensions"]
    if version == V2:
        allowed += ["contextAgents", "contextGroups"]
    _allowed(obj, allowed, path)
    if "registration" in obj:
        obj["registration"] = _uuid(obj["registration"], f"{path}.registration")
    if "instructor" in obj:
        validate_agent(obj["instructor"], f"{path}.instructor")
    if "team" in obj:
        team = _object(obj["team"], f"{path}.team")
        if team.get("objectType") != "Group":
            raise bad(f"{path}.team must be a Group (objectType 'Group')")
        validate_agent(team, f"{path}.team")
    if "contextActivities" in obj:
        ca = _object(obj["contextActivities"], f"{path}.contextActivities")
        _allowed(ca, CONTEXT_ACTIVITY_KINDS, f"{path}.contextActivities")
        for kind, acts in list(ca.items()):
            listed = acts if isinstance(acts, list) else [acts]   # a single Activity becomes an array
            ca[kind] = [_activity(a, f"{path}.contextActivities.{kind}[{i}]") for i, a in enumerate(listed)]
    for p in ("revision", "platform"):
        if p in obj:
            _string(obj[p], f"{path}.{p}")
            if not object_is_activity:
                raise bad(f"{path}.{p} may only be used when the statement's object is an Activity")
    if "language" in obj and (not isinstance(obj["language"], str) or not _LANGTAG.match(obj["language"])):
        raise bad(f"{path}.language must be an RFC 5646 language tag")
    if "statement" in obj:
        _statement_ref(obj["statement"], f"{path}.statement")
    if "extensions" in obj:
        _extensions(obj["extensions"], f"{path}.extensions")
    for p, kind, member, group in (("contextAgents", "contextAgent", "agent", False),
                                   ("contextGroups", "contextGroup", "group", True)):
        if p not in obj:
            continue
        if not isinstance(obj[p], list):
            raise bad(f"{path}.{p} must be an array")
        for i, item in enumerate(obj[p]):
            ipath = f"{path}.{p}[{i}]"
            _object(item, ipath)
            _allowed(item, ("objectType", member, "relevantTypes"), ipath)
            if item.get("objectType") != kind:
                raise bad(f"{ipath}.objectType must be {kind!r}")
            if member not in item:
                raise bad(f"{ipath}.{member} is required")
            if group:
                if _object(item[member], f"{ipath}.{member}").get("objectType") != "Group":
                    raise bad(f"{ipath}.{member} must be a Group")
                validate_agent(item[member], f"{ipath}.{member}")
            else:
                validate_agent(item[member], f"{ipath}.{member}", group_ok=False)
            if "relevantTypes" in item:
                types = item["relevantTypes"]
                if not isinstance(types, list) or not types:
                    raise bad(f"{ipath}.relevantTypes must be a non-empty array of IRIs")
                for j, t in enumerate(types):
                    _iri(t, f"{ipath}.relevantTypes[{j}]")
    return obj


def _attachments(value: Any, path: str) -> list:
    if not isinstance(value, list):
        raise bad(f"{path} must be an array")
    for i, a in enumerate(value):
        apath = f"{path}[{i}]"
        _object(a, apath)
        _allowed(a, ("usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"), apath)
        for p in ("usageType", "display", "contentType", "length", "sha2"):
            if p not in a:
                raise bad(f"{apath}.{p} is required")
        _iri(a["usageType"], f"{apath}.usageType")
        _language_map(a["display"], f"{apath}.display")
        if "description" in a:
            _language_map(a["description"], f"{apath}.description")
        _string(a["contentType"], f"{apath}.contentType", empty=False)
        if isinstance(a["length"], bool) or not isinstance(a["length"], int) or a["length"] < 0:
            raise bad(f"{apath}.length must be a whole number of bytes")
        if not isinstance(a["sha2"], str) or not re.match(r"^[0-9a-fA-F]{56,128}$", a["sha2"]):
            raise bad(f"{apath}.sha2 must be a hex SHA-2 digest")
        if "fileUrl" in a:
            _iri(a["fileUrl"], f"{apath}.fileUrl")
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


def _substatement(obj: dict, path: str, version: str) -> dict:
    _allowed(obj, ("objectType", *_COMMON), path)
    _common(obj, path, version, sub=True)
    return obj


def validate_statement(raw: Any, version: str, path: str = "statement") -> dict:
    """A checked, normalised copy of a statement as received (``id`` lowercased, timestamps
    in UTC, single context activities as arrays). ``stored``/``authority`` given by the client
    are checked for form and then left to the LRS to overwrite."""
    if not isinstance(raw, dict):
        raise bad(f"{path} must be a JSON object")
    _no_nulls(raw, path)
    s = copy.deepcopy(raw)
    _allowed(s, TOP_LEVEL, path)
    if "id" in s:
        s["id"] = _uuid(s["id"], f"{path}.id")
    _common(s, path, version, sub=False)
    if "stored" in s:
        parse_timestamp(s["stored"], version, f"{path}.stored")
    if "authority" in s:
        validate_agent(s["authority"], f"{path}.authority")
    if "version" in s:
        if not isinstance(s["version"], str) or not _STATEMENT_VERSION[version].match(s["version"]):
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


def parse_json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad(f"{what} is not valid UTF-8 JSON: {str(exc)[:80]}") from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def complete(statement: dict, *, version: str, stored: datetime, authority: dict) -> tuple[dict, bool]:
    """The statement as stored: ``stored``, ``authority``, ``version`` and (if missing)
    ``timestamp`` set by the LRS. Returns it and whether the timestamp was assigned."""
    s = dict(statement)
    s["stored"] = stored_text(stored)
    s["authority"] = authority
    s.setdefault("version", DEFAULT_STATEMENT_VERSION[version])
    assigned = "timestamp" not in s
    if assigned:
        s["timestamp"] = s["stored"]
    return s, assigned


# ---- attachment data (multipart/mixed) ------------------------------------------------------------------

_SHA2_BY_HEX_LENGTH = {56: hashlib.sha224, 64: hashlib.sha256, 96: hashlib.sha384, 128: hashlib.sha512}


@dataclass(frozen=True)
class AttachmentData:
    sha2: str            # lowercase hex, checked against the data
    content_type: str
    data: bytes


def split_multipart(body: bytes, boundary: str) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart body (RFC 2046): each its headers (lowercased names) and its
    octets, untouched (attachment data is binary: no line endings are rewritten)."""
    if not boundary or len(boundary) > 70:
        raise bad("multipart/mixed needs a boundary parameter (1-70 characters)")
    dash = b"--" + boundary.encode("latin-1")
    if body.startswith(dash):
        rest = body[len(dash):]
    else:
        start = body.find(b"\r\n" + dash)   # after a preamble
        if start < 0:
            raise bad("the multipart/mixed body has no part with its boundary")
        rest = body[start + 2 + len(dash):]
    parts = []
    while not rest.startswith(b"--"):
        eol = rest.find(b"\r\n")
        if eol < 0 or rest[:eol].strip(b" \t"):
            raise bad("malformed multipart/mixed body: a boundary line must end with CRLF")
        rest = rest[eol + 2:]
        end = rest.find(b"\r\n" + dash)
        if end < 0:
            raise bad("malformed multipart/mixed body: no closing boundary")
        part, rest = rest[:end], rest[end + 2 + len(dash):]
        if part.startswith(b"\r\n"):
            head, data = b"", part[2:]
        else:
            head, sep, data = part.partition(b"\r\n\r\n")
            if not sep:
                raise bad("malformed multipart/mixed body: a part's headers must end with an empty line")
        headers = {}
        for line in head.split(b"\r\n"):
            name, colon, value = line.decode("latin-1").partition(":")
            if not colon or not name.strip():
                raise bad("malformed multipart/mixed body: a part header is not 'Name: value'")
            headers[name.strip().lower()] = value.strip()
        parts.append((headers, data))
    return parts


def _mimetype(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def read_multipart(body: bytes, boundary: str, max_statements_bytes: int) -> tuple[bytes, dict[str, AttachmentData]]:
    """The statements (the first part, application/json) and the attachment data of a
    multipart/mixed request, by hash. Every data part names its hash and the hash is
    checked against the octets."""
    parts = split_multipart(body, boundary)
    if not parts or _mimetype(parts[0][0].get("content-type")) != "application/json":
        raise bad("the first part of a multipart/mixed request is the statements, as application/json")
    statements = parts[0][1]
    if len(statements) > max_statements_bytes:
        raise XapiError(413, "the statements part is larger than this LRS takes")
    received: dict[str, AttachmentData] = {}
    for i, (headers, data) in enumerate(parts[1:], start=2):
        declared = headers.get("x-experience-api-hash", "").lower()
        if not declared:
            raise bad(f"part {i} has no X-Experience-API-Hash header")
        algorithm = _SHA2_BY_HEX_LENGTH.get(len(declared))
        if algorithm is None or not re.match(r"^[0-9a-f]+$", declared):
            raise bad(f"part {i}: X-Experience-API-Hash must be a hex SHA-224, -256, -384 or -512 digest")
        encoding = headers.get("content-transfer-encoding", "binary").lower()
        if encoding != "binary":
            raise bad(f"part {i}: Content-Transfer-Encoding must be binary (the raw octets)")
        if algorithm(data).hexdigest() != declared:
            raise bad(f"part {i}: its data does not have the SHA-2 its X-Experience-API-Hash declares")
        received[declared] = AttachmentData(declared, headers.get("content-type") or "application/octet-stream", data)
    return statements, received


def attachments_of(statement: Mapping) -> list[dict]:
    """A statement's attachment objects, its sub-statement's included."""
    found = list(statement.get("attachments") or [])
    obj = statement.get("object") or {}
    if object_kind(obj) == "SubStatement":
        found += obj.get("attachments") or []
    return found


def check_attachment_data(statements: list[dict], received: Mapping[str, AttachmentData]) -> None:
    """Every attachment without a fileUrl has its data among the parts, and every part is the
    data of some attachment of these statements (matched by SHA-2 alone, as the specification
    asks)."""
    declared = {a["sha2"].lower() for s in statements for a in attachments_of(s)}
    for s in statements:
        for a in attachments_of(s):
            if "fileUrl" not in a and a["sha2"].lower() not in received:
                if not received:
                    raise bad(f"statement {s.get('id', '')}: an attachment without fileUrl needs its data, "
                              "sent as a part of a multipart/mixed request")
                raise bad(f"statement {s.get('id', '')}: no part carries the data of attachment "
                          f"{a['sha2'].lower()} (and it has no fileUrl)")
    stray = sorted(set(received) - declared)
    if stray:
        raise bad(f"a part with X-Experience-API-Hash {stray[0]} is the data of no attachment of these statements")


def attachment_key(statement_id: str, sha2: str) -> str:
    """Where a statement's attachment data is kept: one copy per statement, so that it goes
    with the statement (an erased learner's attachments with their statements)."""
    return f"{statement_id}|{sha2.lower()}"


# ---- the alternate request syntax (xAPI 1.0.3, Communication 1.3) ---------------------------------------

ALTERNATE_HEADERS = {h.lower(): h for h in ("Authorization", "X-Experience-API-Version", "Content-Type",
                                             "Content-Length", "If-Match", "If-None-Match")}
ALTERNATE_METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
MAX_FORM_FIELDS = 100


@dataclass(frozen=True)
class Alternate:
    """A request sent in the alternate syntax, as the resource reads it."""
    method: str
    params: dict[str, list[str]]
    headers: dict[str, str]
    content: bytes | None


def unpack_alternate(query: Mapping[str, list[str]], content_type: str | None, form: bytes) -> Alternate:
    """The request a POST ``?method=X`` form stands for: the form's header fields as
    headers, ``content`` as the body (UTF-8 text), its other fields as parameters. The query
    carries ``method`` alone; the form is application/x-www-form-urlencoded."""
    if set(query) != {"method"} or len(query["method"]) != 1:
        raise bad("in the alternate request syntax the query string is ?method=... alone; "
                  "other parameters go in the form")
    method = query["method"][0].upper()
    if method not in ALTERNATE_METHODS:
        raise bad(f"method must be one of {', '.join(ALTERNATE_METHODS)}")
    if _mimetype(content_type) != "application/x-www-form-urlencoded":
        raise bad("a request in the alternate syntax is a form: Content-Type application/x-www-form-urlencoded")
    try:
        fields = urllib.parse.parse_qs(form.decode("utf-8"), keep_blank_values=True, strict_parsing=True,
                                       errors="strict", max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad(f"the form is not UTF-8 application/x-www-form-urlencoded: {str(exc)[:80]}") from None
    headers, params, content = {}, {}, None
    for name, values in fields.items():
        if name == "content" or name.lower() in ALTERNATE_HEADERS:
            if len(values) != 1:
                raise bad(f"form field {name!r} is given {len(values)} times")
            if name == "content":
                content = values[0].encode("utf-8")
            else:
                headers[ALTERNATE_HEADERS[name.lower()]] = values[0]
        else:
            params[name] = values
    if content is not None and "Content-Type" not in headers:
        headers["Content-Type"] = "application/json"
    if _mimetype(headers.get("Content-Type")) == "multipart/mixed":
        raise bad("attachment data cannot be sent in the alternate request syntax")
    return Alternate(method, params, headers, content)


def check_alternate_allowed(version: str) -> None:
    if version != V1:
        raise bad("xAPI 2.0.0 has no alternate request syntax (it was removed after 1.0.3): "
                  "send the request itself, with its method and headers")


# ---- clients (HTTP Basic: key:secret) -------------------------------------------------------------

CLIENT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")       # the key: no ':' (it ends at the first one)
KEY_HASH = re.compile(r"^[0-9a-f]{64}$")
SECRET_BYTES = 32
MAX_CREDENTIALS = 300


def check_client_name(name: Any) -> str:
    if not isinstance(name, str) or not CLIENT_NAME.match(name):
        raise ValueError("an xAPI client name is 1-32 letters, digits, '-' or '_'")
    return name


def new_credentials(name: str) -> str:
    """``<name>:<secret>``: the HTTP Basic user is the client name, the password a random secret."""
    return f"{check_client_name(name)}:{secrets.token_urlsafe(SECRET_BYTES)}"


def hash_credentials(credentials: str) -> str:
    return hashlib.sha256(credentials.encode("utf-8")).hexdigest()


def basic_credentials(header: str | None) -> str:
    """``key:secret`` from an ``Authorization: Basic`` header; 401 when missing or malformed."""
    challenge = {"WWW-Authenticate": 'Basic realm="xAPI", charset="UTF-8"'}
    if not header:
        raise XapiError(401, "authentication required (HTTP Basic with an xAPI client's key and secret)",
                        challenge)
    scheme, _, token = header.strip().partition(" ")
    try:
        if scheme.lower() != "basic" or len(token) > 2 * MAX_CREDENTIALS:
            raise ValueError
        credentials = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise XapiError(401, "the Authorization header is not HTTP Basic credentials", challenge) from None
    if ":" not in credentials or not CLIENT_NAME.match(credentials.split(":", 1)[0]):
        raise XapiError(401, "invalid credentials", challenge)
    return credentials


def credentials_match(credentials: str, key_hash: str | None) -> bool:
    """Constant-time comparison of the presented credentials' hash with the stored one."""
    expected = key_hash if isinstance(key_hash, str) else "0" * 64
    return hmac.compare_digest(hash_credentials(credentials).encode(), expected.encode()) and key_hash is not None


def client_authority(client: str) -> dict:
    return {"objectType": "Agent", "name": client, "account": {"homePage": CLIENTS_HOME, "name": client}}


# ---- comparison -----------------------------------------------------------------------------------

def _comparable(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in ("definition", "display"):
                continue  # activity definitions and verb displays are not part of the statement
            out[k] = v if k == "extensions" else _comparable(v)
        if "mbox" in out and isinstance(out["mbox"], str):
            out["mbox"] = canonical_mbox(out["mbox"])
        if isinstance(out.get("member"), list):
            out["member"] = sorted(out["member"], key=lambda m: json.dumps(m, sort_keys=True))
        return out
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


def same_statement(stored: dict, stored_timestamp_assigned: bool, incoming: dict) -> bool:
    """Statement comparison: differences the LRS may have caused (id, stored, authority,
    version, an assigned timestamp, its serialisation, activity definitions, verb displays,
    member order, e-mail domain case) do not count; every other difference does."""
    a, b = dict(stored), dict(incoming)
    for p in ("id", "stored", "authority", "version"):
        a.pop(p, None)
        b.pop(p, None)
    if stored_timestamp_assigned or "timestamp" not in b:
        a.pop("timestamp", None)
        b.pop("timestamp", None)
    return json.dumps(_comparable(a), sort_keys=True) == json.dumps(_comparable(b), sort_keys=True)


# ---- identifiers and match keys --------------------------------------------------------------------

def canonical_mbox(mbox: str) -> str:
    m = _MBOX.match(mbox)
    return f"mailto:{m.group(1)}@{m.group(2).lower()}" if m else mbox


def ifi(agent: Mapping) -> str | None:
    """The inverse functional identifier of an Agent or identified Group, as one string."""
    if "mbox" in agent:
        return "mbox=" + canonical_mbox(agent["mbox"])
    if "mbox_sha1sum" in agent:
        return "mbox_sha1sum=" + agent["mbox_sha1sum"].lower()
    if "openid" in agent:
        return "openid=" + agent["openid"]
    if "account" in agent:
        return "account=" + json.dumps([agent["account"]["homePage"], agent["account"]["name"]])
    return None


def _agent_ifis(agent: Mapping | None) -> set[str]:
    """The agent's own IFI and, for a Group, those of its members."""
    if not isinstance(agent, Mapping):
        return set()
    out = {i for i in [ifi(agent)] if i}
    for m in agent.get("member") or []:
        out |= {i for i in [ifi(m)] if i}
    return out


def digest(value: str) -> str:
    return hashlib.sha1(value.encode("utf-8")).hexdigest()[:24]


FILTER_KINDS = ("a", "ra", "v", "o", "ro", "r")   # what queries can ask for (and references inherit)


def match_keys(statement: dict) -> set[str]:
    """Every ``<kind>:<digest>`` a query can find the statement by: ``a`` agent (actor, or
    object Agent/Group, and their members), ``ra`` related agents, ``v`` verb, ``o`` object
    activity, ``ro`` related activities, ``r`` registration."""
    actor, obj, ctx = statement["actor"], statement["object"], statement.get("context") or {}
    agents = _agent_ifis(actor)
    if object_kind(obj) in ("Agent", "Group"):
        agents |= _agent_ifis(obj)
    related_agents = set(agents) | _agent_ifis(statement.get("authority"))
    activities = {obj["id"]} if object_kind(obj) == "Activity" else set()
    related_activities = set(activities)
    parts = [(statement, ctx)]
    if object_kind(obj) == "SubStatement":
        sub = obj
        parts.append((sub, sub.get("context") or {}))
        related_agents |= _agent_ifis(sub["actor"])
        if object_kind(sub["object"]) in ("Agent", "Group"):
            related_agents |= _agent_ifis(sub["object"])
        if object_kind(sub["object"]) == "Activity":
            related_activities.add(sub["object"]["id"])
    for _, c in parts:
        related_agents |= _agent_ifis(c.get("instructor")) | _agent_ifis(c.get("team"))
        for item in c.get("contextAgents") or []:
            related_agents |= _agent_ifis(item.get("agent"))
        for item in c.get("contextGroups") or []:
            related_agents |= _agent_ifis(item.get("group"))
        for acts in (c.get("contextActivities") or {}).values():
            related_activities |= {a["id"] for a in acts}
    keys = {f"a:{digest(i)}" for i in agents} | {f"ra:{digest(i)}" for i in related_agents}
    keys |= {f"o:{digest(i)}" for i in activities} | {f"ro:{digest(i)}" for i in related_activities}
    keys.add(f"v:{digest(statement['verb']['id'])}")
    if ctx.get("registration"):
        keys.add(f"r:{digest(ctx['registration'])}")
    return keys


def inherited(target_keys: Iterable[str]) -> set[str]:
    """The keys a statement referring to ``target`` (StatementRef object) inherits: it meets
    the target's non-time filters too (applied once, at storage, recursively by construction)."""
    return {k for k in target_keys if k.split(":", 1)[0] in FILTER_KINDS}


def voided_target(statement: dict) -> str | None:
    if statement["verb"]["id"] == VOIDED and object_kind(statement["object"]) == "StatementRef":
        return statement["object"]["id"]
    return None


def referenced(statement: dict) -> str | None:
    obj = statement["object"]
    return obj["id"] if object_kind(obj) == "StatementRef" else None


# ---- queries ---------------------------------------------------------------------------------------

QUERY_PARAMS = {"agent", "verb", "activity", "registration", "related_activities", "related_agents",
                "since", "until", "limit", "format", "attachments", "ascending"}
SINGLE_PARAMS = {"statementId", "voidedStatementId", "format", "attachments"}
FORMATS = ("exact", "ids", "canonical")
# the driving filter, most selective first (one indexed range per query)
DRIVE_ORDER = ("r", "a", "o", "ra", "ro", "v")


@dataclass(frozen=True)
class Query:
    params: dict = field(default_factory=dict)        # as given (single values): the cursor repeats them
    required: tuple[str, ...] = ()                      # match keys a statement must have
    since: datetime | None = None
    until: datetime | None = None
    limit: int = MAX_LIMIT
    format: str = "exact"
    attachments: bool = False
    ascending: bool = False
    after: str | None = None                            # order key of the last statement already returned

    def drive(self) -> str | None:
        """The match key whose index range the query reads (None: the stored order itself)."""
        for kind in DRIVE_ORDER:
            for key in self.required:
                if key.split(":", 1)[0] == kind:
                    return key
        return None


def single_values(params: Mapping[str, list[str]]) -> dict[str, str]:
    out = {}
    for name, values in params.items():
        if len(values) != 1:
            raise bad(f"parameter {name!r} is given {len(values)} times")
        out[name] = values[0]
    return out


def parse_bool(value: str, name: str) -> bool:
    if value not in ("true", "false"):
        raise bad(f"{name} must be true or false")
    return value == "true"


def parse_agent_param(value: str, name: str = "agent", *, group_ok: bool = True) -> dict:
    agent = parse_json(value.encode("utf-8"), f"the {name} parameter")
    _no_nulls(agent, name)
    validate_agent(agent, name, group_ok=group_ok)
    if ifi(agent) is None:
        raise bad(f"{name} must be identified (an Agent or an identified Group)")
    return agent


def parse_query(params: Mapping[str, str], version: str, after: str | None = None) -> Query:
    unknown = sorted(set(params) - QUERY_PARAMS)
    if unknown:
        raise bad(f"unknown parameter {unknown[0]!r} for a statement query")
    related_agents = parse_bool(params["related_agents"], "related_agents") if "related_agents" in params else False
    related_activities = (parse_bool(params["related_activities"], "related_activities")
                          if "related_activities" in params else False)
    required = []
    if "agent" in params:
        required.append(f"{'ra' if related_agents else 'a'}:{digest(ifi(parse_agent_param(params['agent'])))}")
    if "verb" in params:
        required.append(f"v:{digest(_iri(params['verb'], 'verb'))}")
    if "activity" in params:
        required.append(f"{'ro' if related_activities else 'o'}:{digest(_iri(params['activity'], 'activity'))}")
    if "registration" in params:
        required.append(f"r:{digest(_uuid(params['registration'], 'registration'))}")
    since = parse_timestamp(params["since"], version, "since") if "since" in params else None
    until = parse_timestamp(params["until"], version, "until") if "until" in params else None
    limit = MAX_LIMIT
    if "limit" in params:
        if not re.match(r"^\d{1,9}$", params["limit"]):
            raise bad("limit must be a non-negative whole number")
        limit = min(int(params["limit"]) or MAX_LIMIT, MAX_LIMIT)
    fmt = params.get("format", "exact")
    if fmt not in FORMATS:
        raise bad("format must be ids, exact or canonical")
    return Query(params=dict(params), required=tuple(required), since=since, until=until, limit=limit,
                 format=fmt,
                 attachments=parse_bool(params["attachments"], "attachments") if "attachments" in params else False,
                 ascending=parse_bool(params["ascending"], "ascending") if "ascending" in params else False,
                 after=after)


def encode_cursor(query: Query, after: str) -> str:
    raw = json.dumps({"p": query.params, "after": after}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, version: str) -> Query:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw.decode("utf-8"))
        params, after = data["p"], data["after"]
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()) \
                or not isinstance(after, str) or not re.match(r"^[0-9T:.Z-]{27}\|[0-9a-f-]{36}$", after):
            raise ValueError("bad cursor")
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise bad("the more cursor is not one this LRS made") from None
    return parse_query(params, version, after=after)


def more_link(query: Query, after: str) -> str:
    return "/xapi/statements?more=" + encode_cursor(query, after)


def _ms_ceiling(moment: datetime) -> datetime:
    """The next whole millisecond after ``moment``'s millisecond (stored is kept to ms)."""
    utc = moment.astimezone(timezone.utc)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000) + timedelta(milliseconds=1)


def key_range(prefix: str, query: Query) -> dict:
    """The range on an order key ``<prefix><stored µs>|<id>`` the query reads: two-sided,
    since exclusive and until inclusive on the stored millisecond, after the cursor."""
    lower, lower_op = prefix, "$gt"
    upper, upper_op = prefix + "~", "$lt"
    if query.since is not None:
        candidate = prefix + order_text(_ms_ceiling(query.since))
        if candidate > lower:
            lower, lower_op = candidate, "$gte"
    if query.until is not None:
        candidate = prefix + order_text(_ms_ceiling(query.until))
        if candidate < upper:
            upper = candidate
    if query.after is not None:
        candidate = prefix + query.after
        if query.ascending and candidate >= lower:
            lower, lower_op = candidate, "$gt"
        if not query.ascending and candidate <= upper:
            upper = candidate
    return {lower_op: lower, upper_op: upper}


def statement_matches(query: Query, keys: Iterable[str]) -> bool:
    have = set(keys)
    return all(k in have for k in query.required)


# ---- output formats --------------------------------------------------------------------------------

def _ids_agent(agent: dict) -> dict:
    out = {k: agent[k] for k in ("objectType", *IFI_PROPERTIES) if k in agent}
    if agent.get("objectType") == "Group" and ifi(agent) is None:
        out["member"] = [_ids_agent(m) for m in agent.get("member") or []]
    return out


def _ids_activity(activity: dict) -> dict:
    return {"objectType": "Activity", "id": activity["id"]}


def _ids_object(obj: dict) -> dict:
    kind = object_kind(obj)
    if kind == "Activity":
        return _ids_activity(obj)
    if kind in ("Agent", "Group"):
        return _ids_agent(obj)
    if kind == "SubStatement":
        return _ids_parts(obj)
    return obj


def _ids_parts(s: dict) -> dict:
    out = dict(s)
    out["actor"] = _ids_agent(s["actor"])
    out["verb"] = {"id": s["verb"]["id"]}
    out["object"] = _ids_object(s["object"])
    if "authority" in s:
        out["authority"] = _ids_agent(s["authority"])
    if "context" in s:
        ctx = dict(s["context"])
        for p in ("instructor", "team"):
            if p in ctx:
                ctx[p] = _ids_agent(ctx[p])
        if "contextActivities" in ctx:
            ctx["contextActivities"] = {k: [_ids_activity(a) for a in v] for k, v in ctx["contextActivities"].items()}
        if "contextAgents" in ctx:
            ctx["contextAgents"] = [{**c, "agent": _ids_agent(c["agent"])} for c in ctx["contextAgents"]]
        if "contextGroups" in ctx:
            ctx["contextGroups"] = [{**c, "group": _ids_agent(c["group"])} for c in ctx["contextGroups"]]
        out["context"] = ctx
    return out


def accepted_languages(header: str | None) -> list[str]:
    """Accept-Language, best first (q-values honoured)."""
    if not header:
        return []
    ranked = []
    for i, part in enumerate(header.split(",")):
        bits = part.strip().split(";")
        tag, q = bits[0].strip().lower(), 1.0
        for b in bits[1:]:
            if b.strip().startswith("q="):
                try:
                    q = float(b.strip()[2:])
                except ValueError:
                    q = 0.0
        if tag and q > 0:
            ranked.append((-q, i, tag))
    return [t for _, _, t in sorted(ranked)]


def _pick_language(lang_map: dict, languages: list[str]) -> dict:
    if len(lang_map) <= 1:
        return lang_map
    lower = {k.lower(): k for k in lang_map}
    for want in languages:
        if want == "*":
            break
        if want in lower:
            return {lower[want]: lang_map[lower[want]]}
        for have_lower, have in lower.items():
            if have_lower.split("-")[0] == want.split("-")[0]:
                return {have: lang_map[have]}
    first = next(iter(lang_map))
    return {first: lang_map[first]}


def _canonical(value: Any, languages: list[str], key: str | None = None) -> Any:
    if isinstance(value, dict):
        if key in ("display", "name", "description") and all(isinstance(v, str) for v in value.values()):
            return _pick_language(value, languages)
        return {k: (v if k == "extensions" else _canonical(v, languages, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v, languages) for v in value]
    return value


def render(statement: dict, fmt: str, languages: list[str] | None = None) -> dict:
    """A stored statement in the asked format: ``exact`` as received, ``ids`` reduced to
    identifiers, ``canonical`` with one language per language map (Accept-Language)."""
    if fmt == "ids":
        return _ids_parts(statement)
    if fmt == "canonical":
        return _canonical(statement, languages or [])
    return statement


# ---- documents (state) ------------------------------------------------------------------------------

STATE_PARAMS = {"activityId", "agent", "registration", "stateId", "since"}


@dataclass(frozen=True)
class StateScope:
    activity_id: str
    agent_ifi: str
    registration: str | None
    state_id: str | None = None
    since: datetime | None = None

    @property
    def context_key(self) -> str:
        """Activity + agent + registration (or none): what the documents of one scope share."""
        return "c:" + hashlib.sha1(json.dumps(
            [self.activity_id, self.agent_ifi, self.registration or ""]).encode("utf-8")).hexdigest()

    @property
    def document_id(self) -> str:
        return "d:" + hashlib.sha1(json.dumps(
            [self.activity_id, self.agent_ifi, self.registration or "", self.state_id]).encode("utf-8")).hexdigest()


def parse_state_params(params: Mapping[str, str], version: str, *, method: str) -> StateScope:
    unknown = sorted(set(params) - STATE_PARAMS)
    if unknown:
        raise bad(f"unknown parameter {unknown[0]!r} for the state resource")
    for required in ("activityId", "agent"):
        if required not in params:
            raise bad(f"the {required} parameter is required")
    state_id = params.get("stateId")
    if method in ("PUT", "POST") and state_id is None:
        raise bad("the stateId parameter is required")
    if state_id is not None:
        _string(state_id, "stateId", empty=False)
        if len(state_id) > 1000:
            raise bad("stateId is too long")
    if "since" in params and (method != "GET" or state_id is not None):
        raise bad("since is only for listing state ids (GET without stateId)")
    agent = parse_agent_param(params["agent"], group_ok=False)
    return StateScope(
        activity_id=_iri(params["activityId"], "activityId"), agent_ifi=ifi(agent),
        registration=_uuid(params["registration"], "registration") if "registration" in params else None,
        state_id=state_id,
        since=parse_timestamp(params["since"], version, "since") if "since" in params else None)


def etag(content: bytes) -> str:
    """The document's ETag: the quoted lowercase hex SHA-1 of its content."""
    return '"' + hashlib.sha1(content).hexdigest() + '"'


def _etags(header: str) -> list[str] | str:
    value = header.strip()
    if value == "*":
        return "*"
    tags = []
    for part in value.split(","):
        part = part.strip()
        if part.startswith("W/"):
            part = part[2:]
        if part:
            tags.append(part if part.startswith('"') else f'"{part}"')
    return tags


def precondition_holds(if_match: str | None, if_none_match: str | None, current: str | None) -> bool:
    """RFC 7232 If-Match / If-None-Match against the current ETag (None: no document)."""
    if if_match is not None:
        tags = _etags(if_match)
        if current is None or (tags != "*" and current not in tags):
            return False
    if if_none_match is not None:
        tags = _etags(if_none_match)
        if current is not None and (tags == "*" or current in tags):
            return False
    return True


def state_precondition(version: str, if_match: str | None, if_none_match: str | None,
                       current: str | None) -> None:
    """Raise 412 when a sent precondition fails. A write without either header is allowed
    in both versions (the State Resource is exempt from the profiles' 409 rule)."""
    if not precondition_holds(if_match, if_none_match, current):
        raise XapiError(412, "precondition failed: the state document changed (or exists, or does not)"
                             "; GET it for its current ETag")


def is_json_type(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() == "application/json"


def merge_json(existing: bytes | None, existing_type: str | None, posted: bytes, posted_type: str | None) -> bytes:
    """POST to a JSON document: the posted object's top-level properties replace the
    existing ones. Either side not a JSON object (or not application/json) is a 400."""
    if not is_json_type(posted_type):
        raise bad("POST merges JSON documents: the Content-Type must be application/json")
    new = parse_json(posted, "the posted document")
    if not isinstance(new, dict):
        raise bad("POST merges JSON objects: the posted document is not one")
    if existing is None:
        return posted
    if not is_json_type(existing_type):
        raise bad("the stored document is not application/json: it can only be replaced with PUT")
    old = parse_json(existing, "the stored document")
    if not isinstance(old, dict):
        raise bad("the stored document is not a JSON object: it can only be replaced with PUT")
    return json.dumps({**old, **new}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# ---- progress feed ----------------------------------------------------------------------------------

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

