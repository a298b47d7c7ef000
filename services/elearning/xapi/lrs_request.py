"""An xAPI request as the resources read it (``LrsRequest``): as sent or, under xAPI 1.0.3,
unpacked from the alternate request syntax (POST ``?method=X`` with a form); and the most
the LRS reads of one."""
from __future__ import annotations

from typing import Callable, Mapping

from werkzeug.datastructures import Headers
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header

from services.elearning.xapi.alternate_syntax import unpack_alternate
from services.elearning.xapi.errors import bad

MAX_STATEMENTS_BYTES = 2 * 1024 * 1024    # one POST/PUT of statements
MAX_DOCUMENT_BYTES = 1024 * 1024          # one state document
MAX_MULTIPART_BYTES = 8 * 1024 * 1024     # statements with their attachment data (stored base64, under 16 MB)
MAX_FORM_BYTES = 3 * MAX_STATEMENTS_BYTES + 64 * 1024   # an alternate-syntax form: URL-encoding triples at worst


def _body(request, limit: int) -> bytes:
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    data = request.get_data(cache=False)
    if len(data) > limit:
        raise RequestEntityTooLarge()
    return data


class LrsRequest:
    """One xAPI request as the resources read it (method, parameters, headers, body): as
    sent, or unpacked from a POST form in xAPI 1.0.3's alternate request syntax."""

    def __init__(self, method: str, params: dict[str, list[str]], headers: Headers,
                 read_body: Callable[[int], bytes], alternate: bool = False):
        self.method, self.headers, self.alternate = method, headers, alternate
        self._params, self._read_body = params, read_body

    @classmethod
    def of(cls, request) -> "LrsRequest":
        params = {k: list(v) for k, v in request.args.lists()}
        if request.method != "POST" or "method" not in params:
            return cls(request.method, params, request.headers, lambda limit: _body(request, limit))
        alt = unpack_alternate(params, request.headers.get("Content-Type"), _body(request, MAX_FORM_BYTES))
        headers = Headers(request.headers)
        for name, value in alt.headers.items():
            headers[name] = value                       # the form's header fields win
        if alt.content is None:
            headers.remove("Content-Type")

        def read(limit: int) -> bytes:
            if len(alt.content or b"") > limit:
                raise RequestEntityTooLarge()
            return alt.content or b""
        return cls(alt.method, alt.params, headers, read, alternate=True)

    def params(self) -> dict[str, str]:
        return single_values(self._params)

    @property
    def content_type(self) -> tuple[str, dict]:
        mimetype, options = parse_options_header(self.headers.get("Content-Type", ""))
        return mimetype.lower(), options

    def body(self, limit: int) -> bytes:
        return self._read_body(limit)


def single_values(params: Mapping[str, list[str]]) -> dict[str, str]:
    out = {}
    for name, values in params.items():
        if len(values) != 1:
            raise bad(f"parameter {name!r} is given {len(values)} times")
        out[name] = values[0]
    return out
