"""The LRS's documents, free of I/O: State, Agent Profile and Activity Profile documents,
one rule set for the three. Their scope (what names a document, and the group whose ids a
GET lists), their ETag, the preconditions a write sends, when a write without them is
refused, and the merge of a POSTed JSON document.

Writes without ``If-Match``/``If-None-Match`` (``write_precondition``):

- a PUT over an existing profile document is a 409 in both versions (Communication 3.1);
  under 1.0.3 a PUT of a new profile document without either header is a 400, as the ADL
  reference LRS and the conformance suite read 1.0.3 (2.0.0 stores it);
- a State PUT over an existing document is a 409 under 2.0.0 (its concurrency rules name
  the State resource), and replaces it under 1.0.3, whose text exempts State ("state
  conflicts are unlikely"): content players that PUT their bookmark with no header
  (Storyline/Rise's scormdriver among them) speak 1.0.3;
- POST (a merge) and DELETE need neither header; sent ones are honoured (412 when they fail).
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
from services.elearning.xapi.versions import V1


@dataclass(frozen=True)
class Resource:
    """One document resource: its path, its parameters, and the prefixes of its keys."""
    name: str                     # "state", "activity profile", "agent profile"
    path: str                     # under /xapi/
    id_param: str                 # stateId or profileId
    scope_params: tuple[str, ...]  # what names the group of documents (all required but registration)
    prefix: str                   # of the group's key; the document's is prefix + "d"

    @property
    def params(self) -> set[str]:
        return {*self.scope_params, self.id_param, "since"}

    @property
    def is_profile(self) -> bool:
        return self.id_param == "profileId"


STATE = Resource("state", "activities/state", "stateId", ("activityId", "agent", "registration"), "c")
ACTIVITY_PROFILE = Resource("activity profile", "activities/profile", "profileId", ("activityId",), "ac")
AGENT_PROFILE = Resource("agent profile", "agents/profile", "profileId", ("agent",), "gc")
RESOURCES = (STATE, ACTIVITY_PROFILE, AGENT_PROFILE)


@dataclass(frozen=True)
class DocumentScope:
    resource: Resource
    activity_id: str | None
    agent_ifi: str | None
    registration: str | None
    document_id: str | None = None    # the stateId or profileId (None: the whole group)
    since: datetime | None = None

    def _parts(self) -> list[str]:
        if self.resource is STATE:     # the State keys as they were before profiles joined them
            return [self.activity_id, self.agent_ifi, self.registration or ""]
        return [self.activity_id if self.resource is ACTIVITY_PROFILE else self.agent_ifi]

    @property
    def context_key(self) -> str:
        """What the documents of one group share (the ids a GET without an id lists)."""
        return f"{self.resource.prefix}:" + hashlib.sha1(json.dumps(self._parts()).encode("utf-8")).hexdigest()

    @property
    def key(self) -> str:
        """The document's own key (its ``_id``)."""
        prefix = "d" if self.resource is STATE else self.resource.prefix + "d"
        return f"{prefix}:" + hashlib.sha1(json.dumps(
            [*self._parts(), self.document_id]).encode("utf-8")).hexdigest()


def parse_document_params(resource: Resource, params: Mapping[str, str], version: str, *,
                          method: str) -> DocumentScope:
    """The scope a request names: 400 for unknown, missing or malformed parameters."""
    unknown = sorted(set(params) - resource.params)
    if unknown:
        raise bad(f"unknown parameter {unknown[0]!r} for the {resource.name} resource")
    for required in resource.scope_params:
        if required != "registration" and required not in params:
            raise bad(f"the {required} parameter is required")
    doc_id = params.get(resource.id_param)
    if doc_id is None and (method in ("PUT", "POST") or method == "DELETE" and resource.is_profile):
        raise bad(f"the {resource.id_param} parameter is required")
    if doc_id is not None:
        checked_string(doc_id, resource.id_param, empty=False)
        if len(doc_id) > 1000:
            raise bad(f"{resource.id_param} is too long")
    if "since" in params and (method != "GET" or doc_id is not None):
        raise bad(f"since is only for listing {resource.id_param}s (GET without {resource.id_param})")
    agent_ifi = None
    if "agent" in resource.scope_params:
        agent_ifi = ifi(parse_agent_param(params["agent"], group_ok=False))
    return DocumentScope(
        resource=resource,
        activity_id=checked_iri(params["activityId"], "activityId") if "activityId" in resource.scope_params else None,
        agent_ifi=agent_ifi,
        registration=checked_uuid(params["registration"], "registration") if "registration" in params else None,
        document_id=doc_id,
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


def write_precondition(resource: Resource, version: str, method: str, if_match: str | None,
                       if_none_match: str | None, current: str | None) -> None:
    """Raise 412 when a sent precondition fails; 409 (or 400) for a PUT without either
    header where the rules above ask for one (``current``: the document's ETag, None when
    there is none)."""
    if if_match is None and if_none_match is None:
        if method != "PUT" or not (resource.is_profile or version != V1):
            return
        if current is not None:
            raise XapiError(409, f"the {resource.name} document exists: send If-Match with its ETag to replace "
                                 "it (GET it for the ETag), or POST to merge JSON into it")
        if resource.is_profile and version == V1:
            raise bad(f"a PUT of a {resource.name} document sends If-None-Match: * (a new document) or "
                      "If-Match with the ETag of the one it replaces")
        return
    if not precondition_holds(if_match, if_none_match, current):
        raise XapiError(412, f"precondition failed: the {resource.name} document changed (or exists, or does "
                             "not); GET it for its current ETag")


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
