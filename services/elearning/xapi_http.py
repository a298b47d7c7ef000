"""An xAPI Learning Record Store on the elearning service's HTTP port, under ``/xapi/``:
the About, Statement and State resources, for e-learning content players.

Mixed into ``ElearningService`` (which gives ``self.db``): thin wiring of ``xapi`` (pure
rules) to ``xapi_store`` (I/O). Clients authenticate with HTTP Basic credentials made by
``suite xapi client add NAME`` (``infra/xapi_clients.py``); ``GET /xapi/about`` and CORS
preflights need none. Every answer carries ``X-Experience-API-Version`` and CORS headers,
Statement answers also ``X-Experience-API-Consistent-Through``.

Every resource reads an ``LrsRequest``: the request as sent or, under xAPI 1.0.3, unpacked
from the alternate request syntax (POST ``?method=X`` with a form). Statements may come as
multipart/mixed with their attachments' raw data (at most ``MAX_MULTIPART_BYTES``).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from typing import Callable

import pymongo
from nameko.web.handlers import http
from werkzeug.datastructures import Headers
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import http_date, parse_options_header
from werkzeug.wrappers import Response

from services.common.errors import BadInput, Conflict
from services.common.rpc import rpc
from services.elearning import xapi, xapi_store
from services.elearning.xapi import XapiError, bad

log = logging.getLogger(__name__)

MAX_STATEMENTS_BYTES = 2 * 1024 * 1024    # one POST/PUT of statements
MAX_DOCUMENT_BYTES = 1024 * 1024          # one state document
MAX_MULTIPART_BYTES = 8 * 1024 * 1024     # statements with their attachment data (stored base64, under 16 MB)
MAX_FORM_BYTES = 3 * MAX_STATEMENTS_BYTES + 64 * 1024   # an alternate-syntax form: URL-encoding triples at worst
ATTACHMENTS_PAGE = 10                     # statements per page when their attachment data comes along
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, X-Experience-API-Version, If-Match, "
                                    "If-None-Match, Accept-Language",
    "Access-Control-Expose-Headers": "ETag, Last-Modified, X-Experience-API-Version, "
                                     "X-Experience-API-Consistent-Through",
    "Access-Control-Max-Age": "600",
}
JSON = "application/json; charset=utf-8"
ALLOWED = {"about": "GET, HEAD, OPTIONS", "statements": "GET, HEAD, POST, PUT, OPTIONS",
           "activities/state": "GET, HEAD, POST, PUT, DELETE, OPTIONS"}


def _json(data) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


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
        alt = xapi.unpack_alternate(params, request.headers.get("Content-Type"), _body(request, MAX_FORM_BYTES))
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
        return xapi.single_values(self._params)

    @property
    def content_type(self) -> tuple[str, dict]:
        mimetype, options = parse_options_header(self.headers.get("Content-Type", ""))
        return mimetype.lower(), options

    def body(self, limit: int) -> bytes:
        return self._read_body(limit)


def _serve(request, work, *, statements: bool = False, need_version: bool = True) -> Response:
    """Run ``work(lrs_request, version)`` -> Response; every refusal as JSON with its
    status; the common headers on every answer."""
    version = None
    try:
        if request.method == "OPTIONS":
            response = Response(status=204)
        else:
            version = _version_or_none(request.headers.get("X-Experience-API-Version"))  # to answer a bad form in
            lrs = LrsRequest.of(request)
            header = lrs.headers.get("X-Experience-API-Version")
            version = xapi.negotiate_version(header) if need_version else _version_or_none(header)
            if lrs.alternate and version is not None:
                xapi.check_alternate_allowed(version)
            response = work(lrs, version)
    except XapiError as exc:
        response = _error(exc.status, exc.message, exc.headers)
    except RequestEntityTooLarge:
        response = _error(413, "the request is larger than this LRS takes")
    except (pymongo.errors.ConnectionFailure, pymongo.errors.ServerSelectionTimeoutError):
        log.warning("xapi: the document store is unavailable", exc_info=True)
        response = _error(503, "temporarily unavailable")
    except Exception:
        log.exception("xapi: unexpected error")
        response = _error(500, "internal error")
    response.headers["X-Experience-API-Version"] = version or xapi.LATEST
    if statements:
        response.headers["X-Experience-API-Consistent-Through"] = xapi.format_timestamp(xapi_store.consistent_through())
    for name, value in CORS.items():
        response.headers.setdefault(name, value)
    return response


def _version_or_none(header: str | None) -> str | None:
    try:
        return xapi.negotiate_version(header)
    except XapiError:
        return None


def _error(status: int, message: str, headers: dict | None = None) -> Response:
    return Response(_json({"error": {"code": status, "message": message}}), status=status,
                    content_type=JSON, headers=headers or {})


def _multipart(payload: bytes, attachments: list[xapi.AttachmentData]) -> Response:
    """``attachments=true``: the multipart/mixed answer, the statements first, then the raw
    data of each attachment stored for them (once per SHA-2)."""
    boundary = uuid.uuid4().hex
    chunks = [f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode(), payload]
    for a in attachments:
        chunks += [f"\r\n--{boundary}\r\nContent-Type: {a.content_type}\r\nContent-Transfer-Encoding: binary\r\n"
                   f"X-Experience-API-Hash: {a.sha2}\r\n\r\n".encode(), a.data]
    chunks.append(f"\r\n--{boundary}--\r\n".encode())
    return Response(b"".join(chunks), status=200, content_type=f"multipart/mixed; boundary={boundary}")


class XapiEntrypoints:
    """The xAPI resources; the service class gives ``db``."""

    @http("GET,OPTIONS", "/xapi/about")
    def xapi_about(self, request):
        return _serve(request, lambda lrs, version: Response(_json(xapi.about()), status=200, content_type=JSON),
                      need_version=False)

    @http("GET,POST,PUT,OPTIONS", "/xapi/statements")
    def xapi_statements(self, request):
        def work(lrs, version):
            if lrs.method not in ("GET", "HEAD", "PUT", "POST"):
                raise XapiError(405, f"{lrs.method} is not a method of /xapi/statements",
                                {"Allow": ALLOWED["statements"]})
            if lrs.method in ("GET", "HEAD"):
                self._xapi_client(lrs, write=False)
                return self._xapi_get_statements(lrs, version)
            client = self._xapi_client(lrs, write=True)
            if lrs.method == "PUT":
                return self._xapi_put_statement(lrs, version, client)
            return self._xapi_post_statements(lrs, version, client)
        return _serve(request, work, statements=True)

    @http("GET,POST,PUT,DELETE,OPTIONS", "/xapi/activities/state")
    def xapi_state(self, request):
        return _serve(request, lambda lrs, version: self._xapi_state(lrs, version))

    @http("GET,POST,PUT,DELETE", "/xapi/<path:resource>")
    def xapi_elsewhere(self, request, resource):
        """Any other path (or method) under /xapi/: the JSON refusal with the version header."""
        def work(lrs, version):
            allowed = ALLOWED.get(resource.rstrip("/"))
            if allowed:
                raise XapiError(405, f"{lrs.method} is not a method of /xapi/{resource}", {"Allow": allowed})
            raise XapiError(404, f"this LRS has no resource /xapi/{resource[:100]} (it offers about, "
                                 "statements and activities/state)")
        return _serve(request, work, need_version=False)

    @rpc
    def xapi_add_client(self, name: str, key_hash: str, read_only: bool = False) -> dict:
        """Register an xAPI client by the sha256 of its ``key:secret`` (the secret never
        travels: ``infra/xapi_clients.py`` makes it and prints it once)."""
        try:
            xapi.check_client_name(name)
        except ValueError as exc:
            raise BadInput(str(exc)) from None
        if not isinstance(key_hash, str) or not xapi.KEY_HASH.match(key_hash):
            raise BadInput("key_hash must be a sha256 hex digest")
        try:
            return xapi_store.add_client(self.db, name, key_hash, bool(read_only))
        except pymongo.errors.DuplicateKeyError:
            raise Conflict(f"an xAPI client named {name!r} exists already") from None

    # ---- statements ---------------------------------------------------------------------------------

    def _xapi_client(self, lrs, *, write: bool) -> str:
        doc = xapi_store.authenticate(self.db, xapi.basic_credentials(lrs.headers.get("Authorization")))
        if write and doc.get("read_only"):
            raise XapiError(403, f"client {doc['_id']} may read but not write")
        return doc["_id"]

    def _xapi_post_statements(self, lrs, version, client):
        if lrs.params():
            raise bad("POST /xapi/statements takes no parameters")
        body, attachments = self._xapi_statements_body(lrs)
        statements, _ = xapi.parse_statements(body, version)
        xapi.check_attachment_data(statements, attachments)
        self._xapi_store(statements, version, client, attachments)
        return Response(_json([s["id"] for s in statements]), status=200, content_type=JSON)

    def _xapi_put_statement(self, lrs, version, client):
        params = lrs.params()
        if set(params) != {"statementId"}:
            raise bad("PUT /xapi/statements takes the statementId parameter and no other")
        sid = params["statementId"]
        if not xapi.is_uuid(sid):
            raise bad("statementId must be a UUID")
        body, attachments = self._xapi_statements_body(lrs)
        body = xapi.parse_json(body, "the request body")
        if not isinstance(body, dict):
            raise bad("PUT stores one statement (a JSON object)")
        statement = xapi.validate_statement(body, version)
        if statement.setdefault("id", sid.lower()) != sid.lower():
            raise bad("the statement's id differs from the statementId parameter")
        xapi.check_attachment_data([statement], attachments)
        self._xapi_store([statement], version, client, attachments)
        return Response(status=204)

    def _xapi_statements_body(self, lrs) -> tuple[bytes, dict[str, xapi.AttachmentData]]:
        """The statements' JSON, and the attachment data by SHA-2 when sent as multipart/mixed."""
        mimetype, options = lrs.content_type
        if mimetype == "multipart/mixed":
            return xapi.read_multipart(lrs.body(MAX_MULTIPART_BYTES), options.get("boundary", ""),
                                       MAX_STATEMENTS_BYTES)
        if mimetype != "application/json":
            raise bad("statements are sent as application/json (or multipart/mixed with attachment data)")
        return lrs.body(MAX_STATEMENTS_BYTES), {}

    def _xapi_store(self, statements, version, client, attachments=None) -> None:
        stored = xapi_store.store_statements(self.db, statements, version=version, client=client,
                                             attachments=attachments)
        try:
            xapi_store.feed_progress(self.db, stored)
        except Exception:  # the statements are stored: a failing feed is logged, not answered
            log.exception("xapi: statements stored, progress feed failed")

    def _xapi_get_statements(self, lrs, version):
        params = lrs.params()
        languages = xapi.accepted_languages(lrs.headers.get("Accept-Language"))
        if "statementId" in params or "voidedStatementId" in params:
            return self._xapi_get_one(params, version, languages)
        if "more" in params:
            if len(params) > 1:
                raise bad("a more link is used as given, with no other parameter")
            query = xapi.decode_cursor(params["more"], version)
        else:
            query = xapi.parse_query(params, version)
        if query.attachments:  # a smaller page: each statement may bring megabytes of data
            query = dataclasses.replace(query, limit=min(query.limit, ATTACHMENTS_PAGE))
        found, after = xapi_store.query(self.db, query)
        result = {"statements": [xapi.render(s, query.format, languages) for s in found],
                  "more": xapi.more_link(query, after) if after else ""}
        payload = _json(result)
        if query.attachments:
            return _multipart(payload, xapi_store.attachment_data(self.db, found))
        return Response(payload, status=200, content_type=JSON)

    def _xapi_get_one(self, params, version, languages):
        if "statementId" in params and "voidedStatementId" in params:
            raise bad("give statementId or voidedStatementId, not both")
        extra = sorted(set(params) - xapi.SINGLE_PARAMS)
        if extra:
            raise bad(f"parameter {extra[0]!r} cannot be used with statementId or voidedStatementId")
        want_voided = "voidedStatementId" in params
        sid = params["voidedStatementId" if want_voided else "statementId"]
        if not xapi.is_uuid(sid):
            raise bad("a statement id is a UUID")
        fmt = params.get("format", "exact")
        if fmt not in xapi.FORMATS:
            raise bad("format must be ids, exact or canonical")
        attachments = xapi.parse_bool(params["attachments"], "attachments") if "attachments" in params else False
        found = xapi_store.get_statement(self.db, sid.lower())
        if found is None or found[1] != want_voided:
            raise XapiError(404, "no such statement" if found is None or not want_voided else "no such voided statement")
        statement = found[0]
        payload = _json(xapi.render(statement, fmt, languages))
        response = _multipart(payload, xapi_store.attachment_data(self.db, [statement])) if attachments \
            else Response(payload, status=200, content_type=JSON)
        response.headers["Last-Modified"] = http_date(xapi.parse_timestamp(statement["stored"], xapi.V2))
        return response

    # ---- state ---------------------------------------------------------------------------------------

    def _xapi_state(self, lrs, version):
        method = "GET" if lrs.method == "HEAD" else lrs.method
        scope = xapi.parse_state_params(lrs.params(), version, method=method)
        self._xapi_client(lrs, write=method != "GET")
        if_match, if_none_match = lrs.headers.get("If-Match"), lrs.headers.get("If-None-Match")
        if method == "GET" and scope.state_id is None:
            ids, last = xapi_store.state_ids(self.db, scope)
            payload = _json(ids)
            response = Response(payload, status=200, content_type=JSON)
            response.headers["ETag"] = xapi.etag(payload)
            if last:
                response.headers["Last-Modified"] = http_date(last)
            return response
        if method == "GET":
            doc = xapi_store.state_document(self.db, scope)
            if doc is None:
                raise XapiError(404, "no such state document")
            response = Response(doc["content"], status=200, content_type=doc["content_type"])
            response.headers["ETag"] = doc["etag"]
            response.headers["Last-Modified"] = http_date(doc["updated"])
            return response
        if method == "DELETE":
            if scope.state_id is None:
                xapi_store.delete_states(self.db, scope)
            else:
                xapi_store.delete_state(self.db, scope, version=version, if_match=if_match,
                                        if_none_match=if_none_match)
            return Response(status=204)
        content = lrs.body(MAX_DOCUMENT_BYTES)
        new_etag = xapi_store.write_state(self.db, scope, content, lrs.headers.get("Content-Type"),
                                          version=version, merge=method == "POST", if_match=if_match,
                                          if_none_match=if_none_match)
        response = Response(status=204)
        response.headers["ETag"] = new_etag
        return response
