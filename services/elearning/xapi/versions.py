"""Which xAPI version a request speaks, and what an answer claims.

Both xAPI 1.0.3 and 2.0.0 (IEEE 9274.1.1) are spoken, chosen per request by the
``X-Experience-API-Version`` header. What differs:

- 2.0.0 allows ``context.contextAgents`` and ``context.contextGroups`` (1.0.3 rejects them as
  unknown properties: ``validation``);
- 2.0.0 timestamps (in statements and in ``since``/``until``) must carry a time zone; 1.0.3
  takes a timestamp without one as UTC (``timestamps``);
- a statement stored without ``version`` gets ``1.0.0`` (1.0.3: "always 1.0.0 for 1.0.x") or
  ``2.0.0``; 1.0.3 accepts only 1.0.x statements, 2.0.0 accepts 1.0.x and 2.0.x;
- ``GET /xapi/about`` lists both;
- 1.0.3 requires the alternate request syntax (a POST with ``?method=``, parameters, headers
  and content in a form, for browsers that cannot send CORS requests); 2.0.0 removed it, so
  it is refused there (``alternate_syntax``).
"""
from __future__ import annotations

import re

from services.elearning.xapi.errors import XapiError, bad

V1 = "1.0.3"
V2 = "2.0.0"
ABOUT_VERSIONS = [V1, V2]
LATEST = V2
_V1_HEADER = re.compile(r"^1\.0(\.\d+)?$")
_V2_HEADER = re.compile(r"^2\.0(\.\d+)?$")
STATEMENT_VERSION = {V1: re.compile(r"^1\.0(\.\d+)?$"), V2: re.compile(r"^(1|2)\.0(\.\d+)?$")}
DEFAULT_STATEMENT_VERSION = {V1: "1.0.0", V2: "2.0.0"}


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


def version_or_none(header: str | None) -> str | None:
    """The version a request speaks, or None when its header does not say one this LRS speaks."""
    try:
        return negotiate_version(header)
    except XapiError:
        return None


def claimed(version: str | None) -> str:
    """The version an answer claims (``X-Experience-API-Version``): the request's, or the
    latest when the request was refused before its version was known."""
    return version or LATEST
