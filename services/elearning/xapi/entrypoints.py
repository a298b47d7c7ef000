"""The xAPI resources on the elearning service's HTTP port, under ``/xapi/``: About,
Statements, State, Agents, Activities, Agent Profile and Activity Profile, for e-learning
content players.

Mixed into ``ElearningService`` (which gives ``self.db``): thin wiring of the pure rules
(``validation``, ``signatures``, ``queries``, ``documents``, ``activities``, ...) to the store
(``statement_store``, ``document_store``, ``activity_store``, ``client_store``). Clients
authenticate with HTTP Basic credentials made by ``suite xapi client add NAME``
(``infra/xapi_clients.py``); ``GET /xapi/about`` and CORS preflights need none. Every answer
goes through ``answers.serve``.

Statements may come as multipart/mixed with their attachments' raw data (at most
``MAX_MULTIPART_BYTES``).
"""
from __future__ import annotations

import dataclasses
import logging

import pymongo
from nameko.web.handlers import http
from werkzeug.http import http_date
from werkzeug.wrappers import Response

from services.common import clock
from services.common.errors import BadInput, Conflict
from services.common.rpc import rpc
from services.elearning.xapi import activity_store, client_store, document_store, statement_store
from services.elearning.xapi.activities import activity_object
from services.elearning.xapi.agents import parse_agent_param, person
from services.elearning.xapi.answers import JSON, json_bytes, multipart, serve
from services.elearning.xapi.attachments import AttachmentData, check_attachment_data, read_multipart
from services.elearning.xapi.clients import KEY_HASH, basic_credentials, check_client_name
from services.elearning.xapi.documents import (ACTIVITY_PROFILE, AGENT_PROFILE, STATE, Resource, etag,
                                               parse_document_params)
from services.elearning.xapi.errors import XapiError, bad
from services.elearning.xapi.lrs_request import MAX_DOCUMENT_BYTES, MAX_MULTIPART_BYTES, MAX_STATEMENTS_BYTES
from services.elearning.xapi.queries import (FORMATS, SINGLE_PARAMS, accepted_languages, decode_cursor, more_link,
                                             parse_bool, parse_query, render)
from services.elearning.xapi.signatures import check_signatures
from services.elearning.xapi.timestamps import parse_timestamp
from services.elearning.xapi.validation import parse_statements, validate_statement
from services.elearning.xapi.values import checked_iri, is_uuid, parse_json
from services.elearning.xapi.versions import V2, about

log = logging.getLogger(__name__)

ATTACHMENTS_PAGE = 10                     # statements per page when their attachment data comes along
DOCUMENT_METHODS = "GET, HEAD, POST, PUT, DELETE, OPTIONS"
ALLOWED = {"about": "GET, HEAD, OPTIONS", "statements": "GET, HEAD, POST, PUT, OPTIONS",
           "agents": "GET, HEAD, OPTIONS", "activities": "GET, HEAD, OPTIONS",
           **{r.path: DOCUMENT_METHODS for r in (STATE, ACTIVITY_PROFILE, AGENT_PROFILE)}}


class XapiEntrypoints:
    """The xAPI resources; the service class gives ``db``."""

    @http("GET,OPTIONS", "/xapi/about")
    def xapi_about(self, request):
        return serve(request, lambda lrs, version: Response(json_bytes(about()), status=200, content_type=JSON),
                     need_version=False)

    def _serve(self, request, work, **kw):
        """``answers.serve``, with the version a refusal claims when the request names none:
        the one its client last spoke."""
        return serve(request, work, last_version=self._xapi_last_version, **kw)

    @http("GET,POST,PUT,OPTIONS", "/xapi/statements")
    def xapi_statements(self, request):
        def work(lrs, version):
            if lrs.method not in ("GET", "HEAD", "PUT", "POST"):
                raise XapiError(405, f"{lrs.method} is not a method of /xapi/statements",
                                {"Allow": ALLOWED["statements"]})
            if lrs.method in ("GET", "HEAD"):
                self._xapi_client(lrs, version, write=False)
                return self._xapi_get_statements(lrs, version)
            client = self._xapi_client(lrs, version, write=True)
            if lrs.method == "PUT":
                return self._xapi_put_statement(lrs, version, client)
            return self._xapi_post_statements(lrs, version, client)
        return self._serve(request, work, statements=True)

    @http("GET,POST,PUT,DELETE,OPTIONS", "/xapi/activities/state")
    def xapi_state(self, request):
        return self._serve(request, lambda lrs, version: self._xapi_documents(lrs, version, STATE))

    @http("GET,POST,PUT,DELETE,OPTIONS", "/xapi/activities/profile")
    def xapi_activity_profile(self, request):
        return self._serve(request, lambda lrs, version: self._xapi_documents(lrs, version, ACTIVITY_PROFILE))

    @http("GET,POST,PUT,DELETE,OPTIONS", "/xapi/agents/profile")
    def xapi_agent_profile(self, request):
        return self._serve(request, lambda lrs, version: self._xapi_documents(lrs, version, AGENT_PROFILE))

    @http("GET,OPTIONS", "/xapi/agents")
    def xapi_agents(self, request):
        def work(lrs, version):
            params = self._xapi_read_params(lrs, version, "agents", {"agent"})
            return Response(json_bytes(person(parse_agent_param(params["agent"], group_ok=False))), status=200,
                            content_type=JSON)
        return self._serve(request, work)

    @http("GET,OPTIONS", "/xapi/activities")
    def xapi_activities(self, request):
        def work(lrs, version):
            activity_id = checked_iri(self._xapi_read_params(lrs, version, "activities", {"activityId"})["activityId"],
                                      "activityId")
            found = activity_object(activity_id, activity_store.known_definition(self.db, activity_id))
            return Response(json_bytes(found), status=200, content_type=JSON)
        return self._serve(request, work)

    @http("GET,POST,PUT,DELETE", "/xapi/<path:resource>")
    def xapi_elsewhere(self, request, resource):
        """Any other path (or method) under /xapi/: the JSON refusal with the version header."""
        def work(lrs, version):
            allowed = ALLOWED.get(resource.rstrip("/"))
            if allowed:
                raise XapiError(405, f"{lrs.method} is not a method of /xapi/{resource}", {"Allow": allowed})
            raise XapiError(404, f"this LRS has no resource /xapi/{resource[:100]} (it offers {', '.join(ALLOWED)})")
        return self._serve(request, work, need_version=False)

    @rpc
    def xapi_add_client(self, name: str, key_hash: str, read_only: bool = False) -> dict:
        """Register an xAPI client by the sha256 of its ``key:secret`` (the secret never
        travels: ``infra/xapi_clients.py`` makes it and prints it once)."""
        try:
            check_client_name(name)
        except ValueError as exc:
            raise BadInput(str(exc)) from None
        if not isinstance(key_hash, str) or not KEY_HASH.match(key_hash):
            raise BadInput("key_hash must be a sha256 hex digest")
        try:
            return client_store.add_client(self.db, name, key_hash, bool(read_only))
        except pymongo.errors.DuplicateKeyError:
            raise Conflict(f"an xAPI client named {name!r} exists already") from None

    # ---- statements ---------------------------------------------------------------------------------

    def _xapi_client(self, lrs, version: str, *, write: bool) -> str:
        doc = client_store.authenticate(self.db, basic_credentials(lrs.headers.get("Authorization")))
        if write and doc.get("read_only"):
            raise XapiError(403, f"client {doc['_id']} may read but not write")
        client_store.note_version(self.db, doc, version)
        return doc["_id"]

    def _xapi_last_version(self, headers) -> str | None:
        """The version the client of these headers last spoke (None: not a client)."""
        try:
            return client_store.authenticate(self.db, basic_credentials(headers.get("Authorization"))).get("version")
        except XapiError:
            return None

    def _xapi_read_params(self, lrs, version, resource: str, required: set[str]) -> dict:
        """A read-only resource's parameters (exactly ``required``), its client checked."""
        if lrs.method not in ("GET", "HEAD"):
            raise XapiError(405, f"{lrs.method} is not a method of /xapi/{resource}", {"Allow": ALLOWED[resource]})
        params = lrs.params()
        self._xapi_client(lrs, version, write=False)
        missing, unknown = sorted(required - set(params)), sorted(set(params) - required)
        if missing:
            raise bad(f"the {missing[0]} parameter is required")
        if unknown:
            raise bad(f"unknown parameter {unknown[0]!r} for /xapi/{resource}")
        return params

    def _xapi_post_statements(self, lrs, version, client):
        if lrs.params():
            raise bad("POST /xapi/statements takes no parameters")
        body, attachments = self._xapi_statements_body(lrs)
        statements, _ = parse_statements(body, version)
        check_attachment_data(statements, attachments)
        check_signatures(statements, attachments, version, clock.now())
        self._xapi_store(statements, version, client, attachments)
        return Response(json_bytes([s["id"] for s in statements]), status=200, content_type=JSON)

    def _xapi_put_statement(self, lrs, version, client):
        params = lrs.params()
        if set(params) != {"statementId"}:
            raise bad("PUT /xapi/statements takes the statementId parameter and no other")
        sid = params["statementId"]
        if not is_uuid(sid):
            raise bad("statementId must be a UUID")
        body, attachments = self._xapi_statements_body(lrs)
        body = parse_json(body, "the request body")
        if not isinstance(body, dict):
            raise bad("PUT stores one statement (a JSON object)")
        statement = validate_statement(body, version)
        if statement.setdefault("id", sid.lower()) != sid.lower():
            raise bad("the statement's id differs from the statementId parameter")
        check_attachment_data([statement], attachments)
        check_signatures([statement], attachments, version, clock.now())
        self._xapi_store([statement], version, client, attachments)
        return Response(status=204)

    def _xapi_statements_body(self, lrs) -> tuple[bytes, dict[str, AttachmentData]]:
        """The statements' JSON, and the attachment data by SHA-2 when sent as multipart/mixed."""
        mimetype, options = lrs.content_type
        if mimetype == "multipart/mixed":
            return read_multipart(lrs.body(MAX_MULTIPART_BYTES), options.get("boundary", ""),
                                  MAX_STATEMENTS_BYTES)
        if mimetype != "application/json":
            raise bad("statements are sent as application/json (or multipart/mixed with attachment data)")
        return lrs.body(MAX_STATEMENTS_BYTES), {}

    def _xapi_store(self, statements, version, client, attachments=None) -> None:
        stored = statement_store.store_statements(self.db, statements, version=version, client=client,
                                                  attachments=attachments)
        try:
            activity_store.remember_definitions(self.db, stored)
        except Exception:  # the statements are stored: a failing merge is logged, not answered
            log.exception("xapi: statements stored, their activity definitions not merged")
        try:
            statement_store.feed_progress(self.db, stored)
        except Exception:  # the statements are stored: a failing feed is logged, not answered
            log.exception("xapi: statements stored, progress feed failed")

    def _xapi_get_statements(self, lrs, version):
        params = lrs.params()
        languages = accepted_languages(lrs.headers.get("Accept-Language"))
        if "statementId" in params or "voidedStatementId" in params:
            return self._xapi_get_one(params, version, languages)
        if "more" in params:
            if len(params) > 1:
                raise bad("a more link is used as given, with no other parameter")
            query = decode_cursor(params["more"], version)
        else:
            query = parse_query(params, version)
        if query.attachments:  # a smaller page: each statement may bring megabytes of data
            query = dataclasses.replace(query, limit=min(query.limit, ATTACHMENTS_PAGE))
        found, after = statement_store.query(self.db, query)
        result = {"statements": [render(s, query.format, languages) for s in found],
                  "more": more_link(query, after) if after else ""}
        payload = json_bytes(result)
        if query.attachments:
            return multipart(payload, statement_store.attachment_data(self.db, found))
        return Response(payload, status=200, content_type=JSON)

    def _xapi_get_one(self, params, version, languages):
        if "statementId" in params and "voidedStatementId" in params:
            raise bad("give statementId or voidedStatementId, not both")
        extra = sorted(set(params) - SINGLE_PARAMS)
        if extra:
            raise bad(f"parameter {extra[0]!r} cannot be used with statementId or voidedStatementId")
        want_voided = "voidedStatementId" in params
        sid = params["voidedStatementId" if want_voided else "statementId"]
        if not is_uuid(sid):
            raise bad("a statement id is a UUID")
        fmt = params.get("format", "exact")
        if fmt not in FORMATS:
            raise bad("format must be ids, exact or canonical")
        attachments = parse_bool(params["attachments"], "attachments") if "attachments" in params else False
        found = statement_store.get_statement(self.db, sid.lower())
        if found is None or found[1] != want_voided:
            raise XapiError(404, "no such statement" if found is None or not want_voided else "no such voided statement")
        statement = found[0]
        payload = json_bytes(render(statement, fmt, languages))
        response = multipart(payload, statement_store.attachment_data(self.db, [statement])) if attachments \
            else Response(payload, status=200, content_type=JSON)
        response.headers["Last-Modified"] = http_date(parse_timestamp(statement["stored"], V2))
        return response

    # ---- documents: state, agent profile, activity profile --------------------------------------------

    def _xapi_documents(self, lrs, version, resource: Resource):
        method = "GET" if lrs.method == "HEAD" else lrs.method
        scope = parse_document_params(resource, lrs.params(), version, method=method)
        self._xapi_client(lrs, version, write=method != "GET")
        if_match, if_none_match = lrs.headers.get("If-Match"), lrs.headers.get("If-None-Match")
        if method == "GET" and scope.document_id is None:
            ids, last = document_store.document_ids(self.db, scope)
            payload = json_bytes(ids)
            response = Response(payload, status=200, content_type=JSON)
            response.headers["ETag"] = etag(payload)
            if last:
                response.headers["Last-Modified"] = http_date(last)
            return response
        if method == "GET":
            doc = document_store.document(self.db, scope)
            if doc is None:
                raise XapiError(404, f"no such {resource.name} document")
            response = Response(doc["content"], status=200, content_type=doc["content_type"])
            response.headers["ETag"] = doc["etag"]
            response.headers["Last-Modified"] = http_date(doc["updated"])
            return response
        if method == "DELETE":
            if scope.document_id is None:
                document_store.delete_documents(self.db, scope)
            else:
                document_store.delete_document(self.db, scope, version=version, if_match=if_match,
                                               if_none_match=if_none_match)
            return Response(status=204)
        content = lrs.body(MAX_DOCUMENT_BYTES)
        new_etag = document_store.write_document(self.db, scope, content, lrs.headers.get("Content-Type"),
                                                 version=version, method=method, if_match=if_match,
                                                 if_none_match=if_none_match)
        response = Response(status=204)
        response.headers["ETag"] = new_etag
        return response
