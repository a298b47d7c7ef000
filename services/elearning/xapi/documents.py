"""State documents, free of I/O: their scope (activity, agent, registration, stateId), their
ETag, the preconditions a write sends, and the merge of a POSTed JSON document.

The text of both versions lets a client PUT, POST and DELETE state without
``If-Match``/``If-None-Match`` ("state conflicts are unlikely"; the 409 rule is for the two
profile resources only). Content players (Storyline/Rise's scormdriver among them) rely on
that to save their bookmark, so a PUT over an existing state document without either header
replaces it in both versions (never 409 or 428); when the headers are sent they are honoured
(412 when they fail). See ``state_precondition``.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from services.elearning.xapi.agents import ifi, parse_agent_param
from services.elearning.xapi.errors import XapiError, bad
from services.elearning.xapi.timestamps import parse_timestamp
from services.elearning.xapi.values import checked_iri, checked_string, checked_uuid, parse_json

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
        checked_string(state_id, "stateId", empty=False)
        if len(state_id) > 1000:
            raise bad("stateId is too long")
    if "since" in params and (method != "GET" or state_id is not None):
        raise bad("since is only for listing state ids (GET without stateId)")
    agent = parse_agent_param(params["agent"], group_ok=False)
    return StateScope(
        activity_id=checked_iri(params["activityId"], "activityId"), agent_ifi=ifi(agent),
        registration=checked_uuid(params["registration"], "registration") if "registration" in params else None,
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
