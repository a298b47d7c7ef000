"""Open311 GeoReport v2 over the community service's HTTP port (``/open311/v2/``), and its
service discovery document (``/open311/discovery.json|xml``).

Mixed into ``CommunityService`` (which gives ``self.db``, ``self.config`` and
``self.submit_case``): thin wiring of ``open311`` (pure rules and rendering) to
``open311_store``. A request is submitted exactly as the ``submit_case`` RPC submits it, by
the actor ``open311:<client name>``; only that needs an api key. Settings: ``DISTRICT_CODE``
(the jurisdiction_id served), ``OPEN311_CONTACT`` and ``OPEN311_KEY_SERVICE`` (discovery).
"""
from __future__ import annotations

import logging

import pymongo
from nameko.web.handlers import http
from pydantic import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from services.common import clock
from services.common.config import DEFAULT_DISTRICT_CODE, option
from services.common.errors import BadInput, SuiteError
from services.common.rpc import rpc
from services.community import open311, open311_store, places_store, residents_store

log = logging.getLogger(__name__)

FMT = "<fmt>"      # json or xml; any other answers the spec's error list (open311.check_format)
DISTRICT_CODE = DEFAULT_DISTRICT_CODE   # the district's administrative division code (GB/T 2260)
CONTACT = "各街镇社区事务受理服务中心 (the district's community service centres)"
KEY_SERVICE = "api keys for submitting requests are issued by the district's operators (suite open311 client add)"


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
        open311.check_format(fmt)
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
    """GeoReport v2 endpoints; the service class gives ``db``, ``config`` and ``submit_case``."""

    @http("GET", f"/open311/discovery.{FMT}")
    def open311_discovery(self, request, fmt):
        def work():
            return 200, "discovery", open311.discovery(
                request.host_url + "open311/v2/", str(option(self.config, "OPEN311_CONTACT", CONTACT)),
                str(option(self.config, "OPEN311_KEY_SERVICE", KEY_SERVICE)))
        return _answer(fmt, work)

    @http("GET", f"/open311/v2/discovery.{FMT}")
    def open311_discovery_v2(self, request, fmt):
        return self.open311_discovery(request, fmt)

    @http("GET", f"/open311/v2/services.{FMT}")
    def open311_services(self, request, fmt):
        def work():
            self._open311_jurisdiction(_params(request))
            return 200, "services", [open311.service_view(m) for m in places_store.matters(self.db)]
        return _answer(fmt, work)

    @http("GET", f"/open311/v2/services/<code>.{FMT}")
    def open311_service_definition(self, request, code, fmt):
        def work():
            self._open311_jurisdiction(_params(request))
            matter = self._open311_matter(code, missing_status=404)
            desks = places_store.places(self.db, "desk")
            return 200, "service_definition", open311.service_definition(matter, desks)
        return _answer(fmt, work)

    @http("POST", f"/open311/v2/requests.{FMT}")
    def open311_submit(self, request, fmt):
        def work():
            params = _params(request, form=True)
            self._open311_jurisdiction(params)
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
        """The request id a submission's token stands for: public, as the spec says (the token
        is a secret only its client was given)."""
        def work():
            params = _params(request)
            self._open311_jurisdiction(params)
            self._open311_reader(params)
            record = open311_store.by_token(self.db, token) if open311.TOKEN.match(token) else None
            if record is None:
                raise open311.Open311Error(404, "no such token")
            return 200, "requests", [open311.token_view(record)]
        return _answer(fmt, work)

    @http("GET", f"/open311/v2/requests.{FMT}")
    def open311_requests(self, request, fmt):
        def work():
            params = _params(request)
            self._open311_jurisdiction(params)
            client = self._open311_reader(params)
            query = open311.parse_query(params, clock.now())
            public = self._open311_public_codes()
            found = open311_store.public_cases_by_ids(self.db, query.ids, public) if query.ids \
                else open311_store.public_cases_in_window(self.db, query, public)
            return 200, "requests", self._open311_views(found, client)
        return _answer(fmt, work)

    @http("GET", f"/open311/v2/requests/<request_id>.{FMT}")
    def open311_request(self, request, request_id, fmt):
        def work():
            params = _params(request)
            self._open311_jurisdiction(params)
            client = self._open311_reader(params)
            found = open311_store.public_cases_by_ids(self.db, [request_id], self._open311_public_codes()) \
                if open311.REQUEST_ID.match(request_id) else []
            if not found:
                raise open311.Open311Error(404, "no such service request")
            return 200, "requests", self._open311_views(found, client)
        return _answer(fmt, work)

    @http("GET,POST", "/open311/<path:rest>")
    def open311_elsewhere(self, request, rest):
        """Any other path under /open311/ (no format, a typo): the spec's error list, not a page."""
        def work():
            raise open311.Open311Error(404, "no such Open311 resource: see /open311/discovery.json")
        return _answer("json", work)

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

    def _open311_jurisdiction(self, params) -> None:
        open311.check_jurisdiction(open311.single(params, "jurisdiction_id"),
                                   str(option(self.config, "DISTRICT_CODE", DISTRICT_CODE)))

    def _open311_client(self, params) -> str:
        """The client whose api key was presented: 401 without one, 403 for a wrong one."""
        key = open311.single(params, "api_key")
        name = open311.client_of_key(key)
        if not open311.key_matches(key, open311_store.key_hash_of(self.db, name)):
            raise open311.Open311Error(403, "invalid api_key")
        return name

    def _open311_reader(self, params) -> str | None:
        """Who reads: nobody in particular (reading is public), or the client whose key came
        with the request (a wrong key is refused, not ignored: its client would think it reads
        as itself)."""
        return self._open311_client(params) if open311.single(params, "api_key") is not None else None

    def _open311_public_codes(self) -> set[str]:
        return {m["_id"] for m in places_store.matters(self.db)}

    def _open311_matter(self, code: str, missing_status: int) -> dict:
        matter = places_store.matter(self.db, code) if open311.SERVICE_CODE.match(code or "") else None
        if matter is None or not matter.get("public", True):
            raise open311.Open311Error(missing_status, "unknown service_code")
        return matter

    def _open311_views(self, found: list[dict], reader: str | None) -> list[dict]:
        """Request views; the submitting client (``reader``) also reads their free text."""
        places = places_store.by_codes(self.db, sorted(
            {c["handling_committee"] for c in found} | {c.get("accepting_desk") for c in found} - {None}))
        return [open311.request_view(c, places.get(c["handling_committee"], {}).get("name"),
                                     places.get(c.get("accepting_desk")),
                                     full=reader is not None and open311.submitted_by(c) == reader)
                for c in found]
