"""A resident's overview: one read RPC per service for the gateway's ``me``, answering the
parts the caller asks for, each computed by the same code (and checked the same way) as the
single-purpose RPC that answers that part alone.

``parts`` maps each part asked to its options (``{}`` for none), checked against the
service's contract in ``contracts/rpc``; a part not asked is not computed. The answer has
one entry per part, and ``errors`` when some failed: a part that fails its own check (a
``Forbidden``, a ``NotFound``...) fails alone, its error serialized as nameko serializes an
RPC's error, so the caller raises for that part what the single-purpose RPC would have.
A store that does not answer fails the whole call instead (each part would wait for it in
turn, longer than the caller waits).
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from nameko.exceptions import serialize
from pydantic import BaseModel

from services.common.errors import BadInput, SuiteError
from services.common.rpc import STORE_DOWN, translate

log = logging.getLogger(__name__)


def asked(parts: Any, contract: type[BaseModel]) -> dict[str, dict]:
    """{part: options} as asked, checked against ``contract`` (one optional field per part)."""
    known = ", ".join(contract.model_fields)
    if not isinstance(parts, dict):
        raise BadInput(f"parts must map part names to their options ({{}} for none); the parts are {known}")
    unknown = [repr(p) for p in parts if p not in contract.model_fields]
    if unknown:
        raise BadInput(f"unknown part {', '.join(unknown)}; the parts are {known}")
    checked = contract.model_validate(parts)
    return {name: options.model_dump() for name in parts if (options := getattr(checked, name)) is not None}


def failed_parts(result: Any) -> dict:
    """The parts of an overview answer that failed, {part: serialized error}."""
    return (result.get("errors") or {}) if isinstance(result, dict) else {}


def answer(parts: dict[str, dict], compute: dict[str, Callable[..., Any]]) -> dict:
    """Each part asked, computed with its options; a part's error kept for that part only."""
    out: dict[str, Any] = {}
    errors: dict[str, dict] = {}
    for name, options in parts.items():
        try:
            out[name] = compute[name](**options)
        except STORE_DOWN:
            raise
        except Exception as exc:  # noqa: BLE001 - the part fails, not the call
            error = translate(exc)
            if not isinstance(error, SuiteError):  # a bug: logged here, as nameko logs a failed call
                log.error("overview part %s failed", name, exc_info=True)
            errors[name] = serialize(error)
    if errors:
        out["errors"] = errors
    return out
