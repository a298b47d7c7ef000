"""Open311 GeoReport v2 at the community service, free of I/O: api keys, reading and
checking requests, mapping matters and cases to GeoReport, rendering JSON and XML.

https://wiki.open311.org/GeoReport_v2 — a city hotline or civic app that already speaks it
lists the public matters as services, submits requests for registered residents (found
by their ID number, with its api key) and reads requests.

Reading is public, as the spec says: ``GET requests``, ``requests/{id}`` and ``tokens/{token}``
need no key and show every request of a public matter in the jurisdiction. Nothing personal
leaves through them: a request shows the matter, the status, the handling committee, the
office where it is handled (address and position) and the times, never the resident's ID
number, name, phone or address. Free text (the resident's description, staff notes) is
shown only to the client that submitted the request, with its key; anyone else reads the
status's name.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Mapping, Sequence

from services.common.errors import BadInput
from services.common.clock import DISTRICT_TIME
from services.community import cases, residents

FORMATS = ("json", "xml")
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}

ACTOR_PREFIX = "open311:"
CLIENT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")     # no "." : the api key is "<name>.<secret>"
KEY_HASH = re.compile(r"^[0-9a-f]{64}$")
SECRET_BYTES = 32                                         # token_urlsafe(32): 43 url-safe characters
MAX_KEY_LENGTH = 200
SERVICE_CODE = re.compile(r"^[A-Z0-9_]{1,64}$")
DESK_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TOKEN = re.compile(r"^tok-[0-9a-f]{32}$")
ID_NUMBER = re.compile(r"^\d{17}[\dXx]$")
MAX_DESCRIPTION = 2000
MAX_MATERIALS = 30
MAX_RESULTS = 50                                          # ids in one service_request_id list
PAGE_SIZE, MAX_PAGE_SIZE = 50, 200                        # requests in one answer (page, page_size)
MAX_PAGE = 1000
DEFAULT_DAYS = 90                                         # the spec's default and widest window
JURISDICTION = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_BODY_BYTES = 64 * 1024

# The district's local time (China Standard Time, no daylight saving): offices close at 17:00.
CLOSING_TIME = time(17, 0)

OPEN_STATUSES = cases.OPEN            # submitted, accepted, in_progress, supplement_required
CLOSED_STATUSES = cases.FINAL         # completed, rejected, withdrawn

JURISDICTION_GROUPS = {"RESIDENCE": "居住地办理", "REGISTRATION": "户籍地办理", "ACCEPTING_DESK": "受理点办理"}

# form fields of the spec that we accept and ignore: nothing personal is stored from them
# (jurisdiction_id is checked on every call, by the entrypoint)
IGNORED_FIELDS = {"jurisdiction_id", "lat", "long", "address_string", "address_id", "email", "device_id",
                  "account_id", "first_name", "last_name", "phone", "media_url"}
SUBMIT_FIELDS = {"api_key", "service_code", "description"}
ATTRIBUTE = re.compile(r"^attribute\[([^\]]*)\](\[\])?$")


class Open311Error(Exception):
    """An answer in the GeoReport error format: ``[{"code": status, "description": ...}]``."""

    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description


def bad(description: str) -> Open311Error:
    return Open311Error(400, description)


def check_format(fmt: str) -> str:
    """The format a path asks for (``requests.json``): json or xml, else the spec's error list."""
    if fmt not in FORMATS:
        raise bad(f"format {fmt[:20]!r} is not offered: use .json or .xml")
    return fmt


def check_jurisdiction(given: str | None, ours: str) -> None:
    """``jurisdiction_id`` is optional (this endpoint serves one); given, it must be ours."""
    if given is not None and given != ours:
        shown = given[:64] if JURISDICTION.match(given[:64]) else "that"
        raise Open311Error(404, f"jurisdiction_id {shown!r} is not served here; this endpoint serves {ours!r}")


# ---- api keys ------------------------------------------------------------------------------

def check_client_name(name: str) -> str:
    if not isinstance(name, str) or not CLIENT_NAME.match(name):
        raise BadInput("an Open311 client name is 1-32 letters, digits, '-' or '_'")
    return name


def new_api_key(name: str) -> str:
    """``<client name>.<secret>``: the name finds the client by ``_id``, the secret proves it."""
    return f"{check_client_name(name)}.{secrets.token_urlsafe(SECRET_BYTES)}"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def client_of_key(key: str | None) -> str:
    """The client name a presented key claims (401 when there is none, 403 when malformed)."""
    if key is None or key == "":
        raise Open311Error(401, "api_key required")
    if len(key) > MAX_KEY_LENGTH or "." not in key:
        raise Open311Error(403, "invalid api_key")
    name = key.split(".", 1)[0]
    if not CLIENT_NAME.match(name):
        raise Open311Error(403, "invalid api_key")
    return name


def key_matches(key: str, key_hash: str | None) -> bool:
    """Constant-time comparison of the presented key's hash with the stored one."""
    expected = key_hash if isinstance(key_hash, str) else "0" * 64
    return hmac.compare_digest(hash_key(key).encode(), expected.encode()) and key_hash is not None


def client_actor(client: str) -> dict:
    return {"id": ACTOR_PREFIX + client, "role": "system"}


def submitted_by(case: dict) -> str | None:
    """The Open311 client that submitted ``case`` (its first audit entry), or None."""
    trail = case.get("trail") or []
    by = trail[0].get("by") if trail else None
    return by[len(ACTOR_PREFIX):] if isinstance(by, str) and by.startswith(ACTOR_PREFIX) else None


# ---- reading parameters ----------------------------------------------------------------------

Params = Mapping[str, Sequence[str]]  # every value of every field, as werkzeug's MultiDict.lists()


def single(params: Params, name: str, required: bool = False) -> str | None:
    """One value of a field: a field given twice is refused rather than guessed."""
    values = params.get(name) or []
    if len(values) > 1:
        raise bad(f"{name} given more than once")
    value = values[0].strip() if values else None
    if required and not value:
        raise bad(f"{name} is required")
    return value or None


def _printable(text: str, what: str) -> str:
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text) or "\x7f" in text:
        raise bad(f"{what} contains control characters")
    return text


def check_service_code(code: str | None) -> str:
    if not code or not SERVICE_CODE.match(code):
        raise bad("service_code must be a service code listed by services")
    return code


@dataclass(frozen=True)
class Submission:
    service_code: str
    id_number: str = field(repr=False)
    desk: str | None
    materials: list[str]
    description: str | None


def parse_submission(params: Params) -> Submission:
    """A POST requests form, checked field by field; the matter's own rules come later."""
    attributes: dict[str, list[str]] = {}
    for name, values in params.items():
        m = ATTRIBUTE.match(name)
        if m:
            attributes.setdefault(m.group(1), []).extend(values)
        elif name not in SUBMIT_FIELDS and name not in IGNORED_FIELDS:
            raise bad(f"unknown field {name[:40]!r}")
    unknown = set(attributes) - {"id_number", "desk", "materials"}
    if unknown:
        raise bad(f"unknown attribute {sorted(unknown)[0][:40]!r} (see the service definition)")
    service_code = check_service_code(single(params, "service_code", required=True))

    ids = [v.strip() for v in attributes.get("id_number", []) if v.strip()]
    if not ids:
        raise bad("attribute[id_number] is required: the resident's 18-digit ID number")
    if len(ids) > 1:
        raise bad("attribute[id_number] given more than once")
    if not ID_NUMBER.match(ids[0]):
        raise bad("attribute[id_number] must be an 18-digit resident ID number")
    try:
        id_number = residents.normalise_id_number(ids[0])
    except BadInput:
        raise bad("attribute[id_number] is not a valid resident ID number (checksum or birth date)") from None

    desks = [v.strip() for v in attributes.get("desk", []) if v.strip()]
    if len(desks) > 1:
        raise bad("attribute[desk] given more than once")
    if desks and not DESK_CODE.match(desks[0]):
        raise bad("attribute[desk] must be a desk code listed in the service definition")

    materials: list[str] = []
    for value in attributes.get("materials", []):
        value = _printable(value.strip(), "attribute[materials]")
        if value and value not in materials:
            materials.append(value)
    if len(materials) > MAX_MATERIALS:
        raise bad(f"at most {MAX_MATERIALS} attribute[materials]")

    description = single(params, "description")
    if description is not None:
        _printable(description, "description")
        if len(description) > MAX_DESCRIPTION:
            raise bad(f"description is longer than {MAX_DESCRIPTION} characters")
    return Submission(service_code, id_number, desks[0] if desks else None, materials, description)


def check_materials(submission: Submission, matter: dict) -> None:
    offered = matter.get("materials") or []
    for m in submission.materials:
        if m not in offered:
            raise bad("attribute[materials] must be values listed in the service definition")


def case_request(submission: Submission, resident_id: str) -> dict:
    """The ``submit_case`` request for a checked submission."""
    request = {"resident_id": resident_id, "matter_code": submission.service_code,
               "materials": submission.materials}
    if submission.desk:
        request["desk"] = submission.desk
    if submission.description:
        request["note"] = submission.description
    return request


@dataclass(frozen=True)
class Query:
    ids: list[str] | None = None
    service_codes: list[str] | None = None
    statuses: tuple[str, ...] | None = None      # case statuses to keep; None: all
    start: datetime | None = None
    end: datetime | None = None
    page: int = 1
    page_size: int = PAGE_SIZE


def _w3c(raw: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise bad(f"{name} must be a W3C date-time such as 2026-05-01T09:00:00+08:00") from None
    if not 1900 <= value.year <= 9000:   # the edges of the calendar overflow in the date arithmetic after
        raise bad(f"{name} must be a date-time between the years 1900 and 9000")
    return value if value.tzinfo else value.replace(tzinfo=DISTRICT_TIME)


def _comma_list(raw: str | None) -> list[str]:
    return [v.strip() for v in (raw or "").split(",") if v.strip()]


def _whole(params: Params, name: str, default: int, highest: int) -> int:
    raw = single(params, name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= highest:
        raise bad(f"{name} must be a whole number from 1 to {highest}")
    return int(raw)


def window(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """The spec's window of requested_datetime: the last 90 days by default; one end given,
    the 90 days from or to it; both given, at most 90 days apart."""
    span = timedelta(days=DEFAULT_DAYS)
    if start is None and end is None:
        end = now
    if start is None:
        start = end - span
    elif end is None:
        end = start + span
    if start > end:
        raise bad("start_date is after end_date")
    if end - start > span:
        raise bad(f"start_date and end_date may not span more than {DEFAULT_DAYS} days")
    return start, end


def parse_query(params: Params, now: datetime) -> Query:
    """GET requests: ``service_request_id`` (then the other filters are ignored, as the spec
    says), or ``service_code``, ``start_date``, ``end_date`` (see ``window``), ``status``
    (open, closed); ``page`` and ``page_size`` (newest first) where a window holds more."""
    ids = _comma_list(single(params, "service_request_id"))
    if ids:
        if len(ids) > MAX_RESULTS or not all(REQUEST_ID.match(i) for i in ids):
            raise bad(f"service_request_id is a comma list of at most {MAX_RESULTS} request ids")
        return Query(ids=list(dict.fromkeys(ids)))
    codes = [check_service_code(c) for c in _comma_list(single(params, "service_code"))] or None
    statuses: tuple[str, ...] | None = None
    wanted = _comma_list(single(params, "status"))
    if wanted:
        if not set(wanted) <= {"open", "closed"}:
            raise bad("status must be open or closed")
        statuses = (OPEN_STATUSES if "open" in wanted else ()) + (CLOSED_STATUSES if "closed" in wanted else ())
    start_raw, end_raw = single(params, "start_date"), single(params, "end_date")
    start, end = window(_w3c(start_raw, "start_date") if start_raw else None,
                        _w3c(end_raw, "end_date") if end_raw else None, now)
    return Query(service_codes=codes, statuses=statuses, start=start, end=end,
                 page=_whole(params, "page", 1, MAX_PAGE),
                 page_size=_whole(params, "page_size", PAGE_SIZE, MAX_PAGE_SIZE))


def stamp_text(moment: datetime) -> str:
    """A moment written as the store's stamps are (``clock.now().isoformat()``: UTC), so that
    a range on their text is a range in time."""
    return moment.astimezone(timezone.utc).isoformat()


def keeps(query: Query, case: dict) -> bool:
    if query.service_codes and case["matter_code"] not in query.service_codes:
        return False
    return query.statuses is None or case["status"] in query.statuses


# ---- mapping ---------------------------------------------------------------------------------

def _local(moment: str | None) -> str | None:
    if not moment:
        return None
    value = datetime.fromisoformat(moment)
    if value.tzinfo is None:
        value = value.replace(tzinfo=DISTRICT_TIME)
    return value.astimezone(DISTRICT_TIME).replace(microsecond=0).isoformat()


def service_view(matter: dict) -> dict:
    description = (matter.get("description") or matter["name"]).strip()
    return {
        "service_code": matter["_id"],
        "service_name": matter["name"],
        "description": f"{description}（承诺时限：{matter['promised_days']}个工作日）",
        "metadata": True,
        "type": "realtime",
        "keywords": ",".join(matter.get("materials") or []),
        "group": JURISDICTION_GROUPS.get(matter.get("jurisdiction"), matter.get("jurisdiction") or ""),
    }


def service_definition(matter: dict, desks: Iterable[dict]) -> dict:
    return {
        "service_code": matter["_id"],
        "attributes": [
            {"variable": True, "code": "id_number", "datatype": "string", "required": True,
             "datatype_description": "18位居民身份证号码 (18-digit mainland resident ID number); "
                                     "the resident must already be registered",
             "order": 1, "description": "申请人居民身份证号码", "values": []},
            {"variable": True, "code": "desk", "datatype": "singlevaluelist", "required": False,
             "datatype_description": "受理点；默认为申请人居住地的受理点 (default: the desk of the residence)",
             "order": 2, "description": "受理点",
             "values": [{"key": d["_id"], "name": d.get("name", d["_id"])} for d in desks]},
            {"variable": True, "code": "materials", "datatype": "multivaluelist", "required": False,
             "datatype_description": "已提交的材料 (materials supplied)", "order": 3,
             "description": "申请材料",
             "values": [{"key": m, "name": m} for m in matter.get("materials") or []]},
        ],
    }


def _status_notes(case: dict) -> str:
    """The note of the step that brought the case to its status, or the status's name."""
    for entry in reversed(case.get("trail") or []):
        if entry.get("from") != entry.get("to"):  # not a deadline flag, an assignment or a transfer
            if entry.get("action") != "submit" and entry.get("note"):  # the submit note is the description
                return entry["note"]
            break
    return cases.STATUS_NAMES[case["status"]]


def expected_datetime(case: dict) -> str | None:
    """The deadline day at 17:00 local time, once the case is accepted (the clock starts then)."""
    if not case.get("deadline"):
        return None
    day = date.fromisoformat(case["deadline"])
    return datetime.combine(day, CLOSING_TIME, DISTRICT_TIME).isoformat()


def request_view(case: dict, agency: str | None, office: dict | None, full: bool) -> dict:
    """A case as a GeoReport service request. Nothing personal: no ID number, name, phone or
    address of the resident; the location is the office where the request is handled
    (``office``: the accepting desk). ``full``: the submitting client asks, and also reads the
    free text (the description it sent, staff's notes); others read the status's name."""
    trail = case.get("trail") or []
    office = office or {}
    return {
        "service_request_id": case["_id"],
        "status": "open" if case["status"] in OPEN_STATUSES else "closed",
        "status_notes": _status_notes(case) if full else cases.STATUS_NAMES[case["status"]],
        "service_name": case["matter_name"],
        "service_code": case["matter_code"],
        "description": ((trail[0].get("note") if trail else None) or "") if full else "",
        "agency_responsible": agency or case["handling_committee"],
        "service_notice": f"办件编号 {case['number']}",
        "requested_datetime": _local(case["submitted_at"]),
        "updated_datetime": _local(trail[-1]["at"] if trail else case["submitted_at"]),
        "expected_datetime": expected_datetime(case),
        "address": office.get("address"),
        "address_id": office.get("_id"),
        "zipcode": office.get("zipcode"),
        "lat": office.get("lat"),
        "long": office.get("long"),
        "media_url": None,          # materials are handed in at the desk, never published
    }


def new_token() -> str:
    """A submission's token (GET tokens/<token>): what clients that queue submissions and ask
    for the request id later hold on to."""
    return f"tok-{secrets.token_hex(16)}"


def submitted_view(case: dict, token: str | None) -> dict:
    """The answer to a submission; no token when it could not be kept (it would lead nowhere)."""
    view = {"service_request_id": case["case_id"],
            "service_notice": f"已提交，办件编号 {case['number']}（{cases.STATUS_NAMES[case['status']]}）"}
    return {**view, "token": token} if token else view


def token_view(record: dict) -> dict:
    return {"service_request_id": record["_id"], "token": record["token"]}


SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-07T00:00:00+08:00"   # when this endpoint's behaviour last changed


def discovery(endpoint_url: str, contact: str, key_service: str) -> dict:
    """The service discovery document (http://wiki.open311.org/Service_Discovery)."""
    return {"changeset": CHANGESET, "contact": contact, "key_service": key_service,
            "endpoints": [{"specification": SPECIFICATION, "url": endpoint_url, "changeset": CHANGESET,
                           "type": "production", "formats": ["text/xml", "application/json"]}]}


# ---- rendering -------------------------------------------------------------------------------

ROOTS = {"services": ("services", "service"), "requests": ("service_requests", "request"),
         "errors": ("errors", "error")}
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("\ufffd", str(value))   # characters XML 1.0 cannot carry


def _add(parent: ET.Element, name: str, value) -> None:
    child = ET.SubElement(parent, name)
    if isinstance(value, list):
        singular = {"attributes": "attribute", "values": "value"}.get(name, name.rstrip("s"))
        for item in value:
            if isinstance(item, dict):
                _fill(ET.SubElement(child, singular), item)
            else:
                ET.SubElement(child, singular).text = _text(item)
    elif isinstance(value, dict):
        _fill(child, value)
    else:
        child.text = _text(value)


def _fill(element: ET.Element, data: dict) -> None:
    for key, value in data.items():
        _add(element, key, value)


def _xml(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def render(kind: str, data, fmt: str) -> tuple[bytes, str]:
    """``kind``: services, requests, errors (lists), service_definition or discovery (one
    object)."""
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False).encode("utf-8"), CONTENT_TYPES["json"]
    if kind in ("service_definition", "discovery"):
        root = ET.Element(kind)
        _fill(root, data)
    else:
        root_name, item_name = ROOTS[kind]
        root = ET.Element(root_name)
        for item in data:
            _fill(ET.SubElement(root, item_name), item)
    return _xml(root), CONTENT_TYPES["xml"]


def error_body(status: int, description: str, fmt: str) -> tuple[bytes, str]:
    return render("errors", [{"code": status, "description": description}], fmt if fmt in FORMATS else "json")
