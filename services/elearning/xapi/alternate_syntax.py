"""The alternate request syntax of xAPI 1.0.3 (Communication 1.3): a POST ``?method=X``
whose form carries the parameters, the headers and the content of the request it stands
for, for browsers that cannot send CORS requests. 2.0.0 removed it."""
from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Mapping

from services.elearning.xapi.attachments import mimetype
from services.elearning.xapi.errors import bad
from services.elearning.xapi.versions import V1

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
    if mimetype(content_type) != "application/x-www-form-urlencoded":
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
    if mimetype(headers.get("Content-Type")) == "multipart/mixed":
        raise bad("attachment data cannot be sent in the alternate request syntax")
    return Alternate(method, params, headers, content)


def check_alternate_allowed(version: str) -> None:
    if version != V1:
        raise bad("xAPI 2.0.0 has no alternate request syntax (it was removed after 1.0.3): "
                  "send the request itself, with its method and headers")
