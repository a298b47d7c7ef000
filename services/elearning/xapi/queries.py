"""Statement queries, free of I/O: the parameters, the match keys a statement must have,
the range of the stored order a page reads, the ``more`` cursor that continues it, and the
format a statement is answered in (``exact``, ``ids``, ``canonical``)."""
from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from services.elearning.xapi.agents import IFI_PROPERTIES, digest, ifi, parse_agent_param
from services.elearning.xapi.errors import bad
from services.elearning.xapi.timestamps import order_text, parse_timestamp
from services.elearning.xapi.validation import object_kind
from services.elearning.xapi.values import checked_iri, checked_uuid

MAX_LIMIT = 100                 # statements per page: the default, and the most a client gets

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


def parse_bool(value: str, name: str) -> bool:
    if value not in ("true", "false"):
        raise bad(f"{name} must be true or false")
    return value == "true"


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
        required.append(f"v:{digest(checked_iri(params['verb'], 'verb'))}")
    if "activity" in params:
        required.append(f"{'ro' if related_activities else 'o'}:{digest(checked_iri(params['activity'], 'activity'))}")
    if "registration" in params:
        required.append(f"r:{digest(checked_uuid(params['registration'], 'registration'))}")
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
    return {"id": activity["id"]}      # objectType too is left out: Activity is what an object without one is


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
