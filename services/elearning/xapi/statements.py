"""What storing a statement means, free of I/O: what the LRS sets on it, when two
statements are the same (a resent statement is no conflict), the match keys a query finds
it by, and voiding (a voiding statement names its target by a StatementRef)."""
from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Iterable, Mapping

from services.elearning.xapi.agents import canonical_mbox, digest, ifi
from services.elearning.xapi.timestamps import stored_text
from services.elearning.xapi.validation import VOIDED, object_kind
from services.elearning.xapi.versions import DEFAULT_STATEMENT_VERSION


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


# ---- comparison -----------------------------------------------------------------------------------

_SECONDS = re.compile(r"(\d+)(?:\.(\d+))?S$")


def comparable_duration(duration: str) -> str:
    """A duration as statements are compared: seconds to the hundredth, any finer precision
    cut off ("P1DT12H36M0.1237S" is "P1DT12H36M0.12S"; 2.0.0, 4.2.7)."""
    m = _SECONDS.search(duration)
    if not m:
        return duration
    hundredths = (m.group(2) or "").ljust(2, "0")[:2]
    return f"{duration[:m.start()]}{int(m.group(1))}.{hundredths}S"


def _comparable(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in ("definition", "display"):
                continue  # activity definitions and verb displays are not part of the statement
            out[k] = v if k == "extensions" else _comparable(v)
        if isinstance(out.get("duration"), str):
            out["duration"] = comparable_duration(out["duration"])
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


# ---- match keys and references -------------------------------------------------------------------

def _agent_ifis(agent: Mapping | None) -> set[str]:
    """The agent's own IFI and, for a Group, those of its members."""
    if not isinstance(agent, Mapping):
        return set()
    out = {i for i in [ifi(agent)] if i}
    for m in agent.get("member") or []:
        out |= {i for i in [ifi(m)] if i}
    return out


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
