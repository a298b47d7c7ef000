"""The JSON values statements are made of, checked: objects with only their allowed
properties, strings, IRIs, UUIDs, booleans, numbers, language maps, extensions, no nulls,
and JSON itself. Every refusal is a 400 naming the property at fault."""
from __future__ import annotations

import json
import re
from typing import Any, Iterable

from services.elearning.xapi.errors import bad

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s\x00-\x1f\x7f<>\"{}|\\^`]+$")

# RFC 5646 language tags: the token-length sequence (langtag, private use, i- grandfathered)
LANGTAG = re.compile(
    r"^(?:(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})"   # language (+ extlang)
    r"(?:-[A-Za-z]{4})?"                                           # script
    r"(?:-(?:[A-Za-z]{2}|\d{3}))?"                                 # region
    r"(?:-(?:[A-Za-z0-9]{5,8}|\d[A-Za-z0-9]{3}))*"                 # variants
    r"(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z0-9]{2,8})+)*"               # extensions
    r"(?:-[xX](?:-[A-Za-z0-9]{1,8})+)?"                            # private use
    r"|[xX](?:-[A-Za-z0-9]{1,8})+|[iI]-[A-Za-z]{2,8})$")
MAX_IRI = 4096
MAX_STRING = 65536
MAX_DEPTH = 64      # JSON nesting: a statement needs about a dozen levels; what reads it recurses


def is_uuid(value: Any) -> bool:
    return isinstance(value, str) and bool(_UUID.match(value))


def checked_object(value: Any, path: str) -> dict:
    if not isinstance(value, dict):
        raise bad(f"{path} must be a JSON object")
    return value


def allowed_only(obj: dict, allowed: Iterable[str], path: str) -> None:
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        raise bad(f"{path}: property {unknown[0]!r} is not allowed here")


def checked_string(value: Any, path: str, *, empty: bool = True) -> str:
    if not isinstance(value, str):
        raise bad(f"{path} must be a string")
    if not empty and value == "":
        raise bad(f"{path} must not be empty")
    if len(value) > MAX_STRING:
        raise bad(f"{path} is too long")
    return value


def checked_iri(value: Any, path: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_IRI or not _IRI.match(value):
        raise bad(f"{path} must be an absolute IRI with a scheme")
    return value


def checked_uuid(value: Any, path: str) -> str:
    if not is_uuid(value):
        raise bad(f"{path} must be a UUID in its standard string form")
    return value.lower()


def checked_bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise bad(f"{path} must be true or false")
    return value


def checked_number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise bad(f"{path} must be a number")
    return value


def language_map(value: Any, path: str) -> dict:
    obj = checked_object(value, path)
    for tag, text in obj.items():
        if not LANGTAG.match(tag):
            raise bad(f"{path}: {tag[:20]!r} is not an RFC 5646 language tag")
        checked_string(text, f"{path}.{tag}")
    return obj


def extensions_map(value: Any, path: str) -> dict:
    obj = checked_object(value, path)
    for key in obj:
        checked_iri(key, f"{path} key {key[:60]!r}")
    return obj  # values are anything (the LRS must not reject on them)


def no_nulls(value: Any, path: str) -> None:
    """Reject null anywhere except inside extensions."""
    if value is None:
        raise bad(f"{path} must not be null")
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "extensions":
                if v is None:
                    raise bad(f"{path}.extensions must not be null")
                continue
            no_nulls(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            no_nulls(v, f"{path}[{i}]")


def parse_json(body: bytes, what: str) -> Any:
    """JSON as this LRS takes it: UTF-8, no NaN or Infinity, at most ``MAX_DEPTH`` levels
    deep (deeper, the validation, copies and comparisons that recurse over a statement would
    exhaust the stack: a 500, where it is the request that is wrong)."""
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except RecursionError:
        raise bad(f"{what} is nested more than {MAX_DEPTH} levels deep") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad(f"{what} is not valid UTF-8 JSON: {str(exc)[:80]}") from None
    if _deeper_than(value, MAX_DEPTH):
        raise bad(f"{what} is nested more than {MAX_DEPTH} levels deep")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels (without recursing)."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth >= limit:
                return True
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return False


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")
