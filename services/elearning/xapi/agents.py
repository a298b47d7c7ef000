"""Agents and Groups: checked (as actor, object, authority, instructor, team, member or
parameter), and identified by their inverse functional identifier (IFI) as one string, whose
digest is what match keys and state documents name them by."""
from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Mapping

from services.elearning.xapi.errors import bad
from services.elearning.xapi.values import (allowed_only, checked_iri, checked_object, checked_string, no_nulls,
                                            parse_json)

_MBOX = re.compile(r"^mailto:([^\s@:/?#]+)@([^\s@/?#]+)$")
_SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")


def _account(value: Any, path: str) -> dict:
    obj = checked_object(value, path)
    allowed_only(obj, ("homePage", "name"), path)
    if "homePage" not in obj or "name" not in obj:
        raise bad(f"{path} needs both homePage and name")
    checked_iri(obj["homePage"], f"{path}.homePage")
    checked_string(obj["name"], f"{path}.name", empty=False)
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
            checked_iri(obj[p], f"{path}.openid")
        else:
            _account(obj[p], f"{path}.account")
    return present


def validate_agent(value: Any, path: str, *, group_ok: bool = True, need_type: bool = False) -> dict:
    """An Agent, or (when ``group_ok``) a Group; ``need_type`` when objectType is required."""
    obj = checked_object(value, path)
    kind = obj.get("objectType", None if not need_type else "")
    if kind == "Group":
        if not group_ok:
            raise bad(f"{path} must be an Agent, not a Group")
        return _group(obj, path)
    if kind not in (None, "Agent"):
        raise bad(f"{path}.objectType must be 'Agent'" + (" or 'Group'" if group_ok else ""))
    allowed_only(obj, ("objectType", "name", *IFI_PROPERTIES), path)
    if "name" in obj:
        checked_string(obj["name"], f"{path}.name")
    if len(_ifis(obj, path)) != 1:
        raise bad(f"{path} must have exactly one inverse functional identifier "
                  "(mbox, mbox_sha1sum, openid or account)")
    return obj


def _group(obj: dict, path: str) -> dict:
    allowed_only(obj, ("objectType", "name", "member", *IFI_PROPERTIES), path)
    if "name" in obj:
        checked_string(obj["name"], f"{path}.name")
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


def digest(value: str) -> str:
    return hashlib.sha1(value.encode("utf-8")).hexdigest()[:24]


def parse_agent_param(value: str, name: str = "agent", *, group_ok: bool = True) -> dict:
    agent = parse_json(value.encode("utf-8"), f"the {name} parameter")
    no_nulls(agent, name)
    validate_agent(agent, name, group_ok=group_ok)
    if ifi(agent) is None:
        raise bad(f"{name} must be identified (an Agent or an identified Group)")
    return agent


def person(agent: Mapping) -> dict:
    """The Person object the Agents resource answers for an Agent: its name and its
    identifier, each as an array (this LRS links no other identities to it)."""
    out: dict = {"objectType": "Person"}
    if "name" in agent:
        out["name"] = [agent["name"]]
    for p in IFI_PROPERTIES:
        if p in agent:
            out[p] = [agent[p]]
    return out
