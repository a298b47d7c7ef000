"""Open311 GeoReport v2 over the community service's HTTP port (``/open311/v2/``).

Mixed into ``CommunityService`` (which gives ``self.db`` and ``self.submit_case``): thin
wiring of ``open311`` (pure rules and rendering) to ``open311_store``. A request is submitted
exactly as the ``submit_case`` RPC submits it, by the actor ``open311:<client name>``.
"""
from __future__ import annotations

import logging

import pymongo
from nameko.web.handlers import http
from pydantic import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from services.common import clock
from services.common.errors import BadInput, SuiteError
from services.common.rpc import rpc
from services.community import open311, open311_store, places_store, residents_store

log = logging.getLogger(__name__)

FMT = "<any(json,xml):fmt>"


def _params(request, form: bool = False) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {k: list(v) for k, v in request.args.lists()}
    if form:
        request.max_content_length = open311.MAX_BODY_BYTES
        for k, v in request.form.lists():
            params.setdefault(k, []).extend(v)
    return params


def _answer(fmt: str, work) -> Response:
    """Run ``work()`` -> (status, kind, data) and render it; every refusal in the GeoReport
    error format, in the format asked for."""
    try:
        status, kind, data = work()
        body, content_type = open311.render(kind, data, fmt)
    except open311.Open311Error as exc:
        status, (body, content_type) = exc.status, open311.error_body(exc.status, exc.description, fmt)
    except (SuiteError, ValidationError) as exc:
        message = str(exc) if isinstance(exc, SuiteError) else "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
        status, (body, content_type) = 400, open311.error_body(400, message, fmt)
    except RequestEntityTooLarge:
        status, (body, content_type) = 413, open311.error_body(413, "request too large", fmt)
    except (pymongo.errors.ConnectionFailure, pymongo.errors.ServerSelectionTimeoutError):
        log.warning("open311: the document store is unavailable", exc_info=True)
        status, (body, content_type) = 503, open311.error_body(503, "temporarily unavailable", fmt)
    except Exception:
        log.exception("open311: unexpected error")
        status, (body, content_type) = 500, open311.error_body(500, "internal error", fmt)
    return Response(body, status=status, content_type=content_type)


class Open311Entrypoints:
    """GeoReport v2 endpoints; the service class gives ``db`` and ``submit_case``."""

    @http("GET", f"/open311/v2/services.{FMT}")
    def open311_services(self, request, fmt):
        def work():
            return 200, "services", [open311.service_view(m) for m in places_store.matters(self.db)]
        return _answer(fmt, work)

    @http("GET", f"/open311/v2/services/<code>.{FMT}")
    def open311_service_definition(self, request, code, fmt):
        def work():
            matter = self._open311_matter(code, missing_status=404)
            desks = places_store.places(self.db, "desk")
            return 200, "service_definition", open311.service_definition(matter, desks)
        return _answer(fmt, work)

    @http("POST", f"/open311/v2/requests.{FMT}")
    def open311_submit(self, request, fmt):
        def work():
            params = _params(request, form=True)
            client = self._open311_client(params)
            submission = open311.parse_submission(params)
            matter = self._open311_matter(submission.service_code, missing_status=400)
            open311.check_materials(submission, matter)
            resident = residents_store.by_id_number(self.db, submission.id_number, {"_id": 1})
            if resident is None:
                raise open311.bad("no resident is registered with this ID number; register at a service desk first")
            case = self.submit_case(open311.client_actor(client), open311.case_request(submission, resident["_id"]))
            token = open311.new_token()
            kept = open311_store.record(self.db, client, case, token)
            return 200, "requests", [open311.submitted_view(case, token if kept else None)]
        return _answer(fmt, work)

    @http("GET", f"/open311/v2/tokens/<token>.{FMT}")
    def open311_token(self, request, token, fmt):
        """The request id a submission's token stands for (the client's own tokens only)."""
        def work():
            client = self._open311_client(_params(request))
            record = open311_store.by_token(self.db, token) if open311.TOKEN.match(token) else None
            if record is None or record.get("client") != client:
                raise open311.Open311Error(404, "no such token")
            return 200, "requests", [open311.token_view(record)]
        return _answer(fmt, work)

    @http("GET", f"/open311/v2/requests.{FMT}")
    def open311_requests(self, request, fmt):
        def work():
            params = _params(request)
            client = self._open311_client(params)
            query = open311.parse_query(params, clock.now())
            found = open311_store.cases_by_ids(self.db, client, query.ids) if query.ids \
                else open311_store.cases_in_window(self.db, client, query)
            return 200, "requests", self._open311_views(found)
        return _answer(fmt, work)

    @http("GET", f"/open311/v2/requests/<request_id>.{FMT}")
    def open311_request(self, request, request_id, fmt):
        def work():
            client = self._open311_client(_params(request))
            found = open311_store.cases_by_ids(self.db, client, [request_id]) \
                if open311.REQUEST_ID.match(request_id) else []
            if not found:
                raise open311.Open311Error(404, "no such service request")
            return 200, "requests", self._open311_views(found)
        return _answer(fmt, work)

    @rpc
    def open311_add_client(self, name: str, key_hash: str) -> dict:
        """Register an Open311 client by the sha256 of its api key (the key itself never
        travels: ``infra/open311_clients.py`` makes it and keeps it to print it once)."""
        open311.check_client_name(name)
        if not isinstance(key_hash, str) or not open311.KEY_HASH.match(key_hash):
            raise BadInput("key_hash must be a sha256 hex digest")
        created_at = clock.now().isoformat()
        open311_store.add_client(self.db, name, key_hash, created_at)
        return {"client": name, "created_at": created_at}

    # ---- helpers ------------------------------------------------------------------------------

    def _open311_client(self, params) -> str:
        """The client whose api key was presented: 401 without one, 403 for a wrong one."""
        key = open311.single(params, "api_key")
        name = open311.client_of_key(key)
        if not open311.key_matches(key, open311_store.key_hash_of(self.db, name)):
            raise open311.Open311Error(403, "invalid api_key")
        return name

    def _open311_matter(self, code: str, missing_status: int) -> dict:
        matter = places_store.matter(self.db, code) if open311.SERVICE_CODE.match(code or "") else None
        if matter is None or not matter.get("public", True):
            raise open311.Open311Error(missing_status, "unknown service_code")
        return matter

    def _open311_views(self, found: list[dict]) -> list[dict]:
        names = places_store.names(self.db, sorted({c["handling_committee"] for c in found}))
        return [open311.request_view(c, names.get(c["handling_committee"])) for c in found]
