"""Open311 GeoReport v2 over the community service's HTTP port (``/open311/v2/``).

Mixed into ``CommunityService`` (which gives ``self.db`` and ``self.submit_case``): thin
wiring of ``open311`` (pure rules and rendering) to the store. A request is submitted
exactly as the ``submit_case`` RPC submits it, by the actor ``open311:<client name>``.

Collections of its own: ``open311_clients`` (``_id`` = client name, ``key_hash``,
``created_at``) and ``open311_requests`` (``_id`` = case id, ``client``, ``client_at``:
what a client's request list is read by, a range on one indexed field).
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone

import pymongo
from nameko.web.handlers import http
from pydantic import ValidationError
from pymongo import ASCENDING, IndexModel
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from services.common.errors import BadInput, Conflict, SuiteError
from services.common.rpc import rpc
from services.community import open311, store

log = logging.getLogger(__name__)

CLIENTS = "open311_clients"
REQUESTS = "open311_requests"
INDEXES = {REQUESTS: [IndexModel([("client_at", ASCENDING)], name="client_at"),
                      IndexModel([("token", ASCENDING)], name="token", unique=True, sparse=True)]}
SCAN_MAX = 1000          # request records read at most for one list (then filtered by code and status)
FMT = "<any(json,xml):fmt>"

_indexed: set[tuple[int, str]] = set()
_index_lock = threading.Lock()


def _ensure_indexes(db) -> None:
    """Once per process and database (store.py's INDEXES are not ours to extend)."""
    key = (id(db.client), db.name)
    if key in _indexed:
        return
    with _index_lock:
        if key not in _indexed:
            for collection, models in INDEXES.items():
                db[collection].create_indexes(models)
            _indexed.add(key)


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
            matters = self.db[store.MATTERS].find({"public": True}).sort("_id")
            return 200, "services", [open311.service_view(m) for m in matters]
        return _answer(fmt, work)

    @http("GET", f"/open311/v2/services/<code>.{FMT}")
    def open311_service_definition(self, request, code, fmt):
        def work():
            matter = self._open311_matter(code, missing_status=404)
            desks = self.db[store.PLACES].find({"kind": "desk"}).sort("_id")
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
            resident = self.db[store.RESIDENTS].find_one({"id_number": submission.id_number}, {"_id": 1})
            if resident is None:
                raise open311.bad("no resident is registered with this ID number; register at a service desk first")
            case = self.submit_case(open311.client_actor(client), open311.case_request(submission, resident["_id"]))
            token = open311.new_token()
            kept = self._open311_record(client, case, token)
            return 200, "requests", [open311.submitted_view(case, token if kept else None)]
        return _answer(fmt, work)

    @http("GET", f"/open311/v2/tokens/<token>.{FMT}")
    def open311_token(self, request, token, fmt):
        """The request id a submission's token stands for (the client's own tokens only)."""
        def work():
            client = self._open311_client(_params(request))
            record = None
            if open311.TOKEN.match(token):
                _ensure_indexes(self.db)
                record = self.db[REQUESTS].find_one({"token": token})
            if record is None or record.get("client") != client:
                raise open311.Open311Error(404, "no such token")
            return 200, "requests", [open311.token_view(record)]
        return _answer(fmt, work)

    @http("GET", f"/open311/v2/requests.{FMT}")
    def open311_requests(self, request, fmt):
        def work():
            params = _params(request)
            client = self._open311_client(params)
            query = open311.parse_query(params, datetime.now(timezone.utc))
            found = self._open311_by_ids(client, query.ids) if query.ids else self._open311_list(client, query)
            return 200, "requests", self._open311_views(found)
        return _answer(fmt, work)

    @http("GET", f"/open311/v2/requests/<request_id>.{FMT}")
    def open311_request(self, request, request_id, fmt):
        def work():
            client = self._open311_client(_params(request))
            found = self._open311_by_ids(client, [request_id]) if open311.REQUEST_ID.match(request_id) else []
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
        created_at = datetime.now(timezone.utc).isoformat()
        try:
            self.db[CLIENTS].insert_one({"_id": name, "key_hash": key_hash, "created_at": created_at})
        except pymongo.errors.DuplicateKeyError:
            raise Conflict(f"an Open311 client named {name!r} exists already") from None
        return {"client": name, "created_at": created_at}

    # ---- helpers ------------------------------------------------------------------------------

    def _open311_client(self, params) -> str:
        """The client whose api key was presented: 401 without one, 403 for a wrong one."""
        key = open311.single(params, "api_key")
        name = open311.client_of_key(key)
        doc = self.db[CLIENTS].find_one({"_id": name})
        if not open311.key_matches(key, doc.get("key_hash") if doc else None):
            raise open311.Open311Error(403, "invalid api_key")
        return name

    def _open311_matter(self, code: str, missing_status: int) -> dict:
        matter = None
        if open311.SERVICE_CODE.match(code or ""):
            matter = self.db[store.MATTERS].find_one({"_id": code})
        if matter is None or not matter.get("public", True):
            raise open311.Open311Error(missing_status, "unknown service_code")
        return matter

    def _open311_record(self, client: str, case: dict, token: str) -> bool:
        """Index the new request under its client. The case is stored already: a failure
        here is logged, not answered (a retry would submit it twice); the request stays
        readable by its id, only the client's list misses it."""
        try:
            _ensure_indexes(self.db)
            self.db[REQUESTS].insert_one({
                "_id": case["case_id"], "client": client, "service_code": case["matter_code"], "token": token,
                "client_at": f"{client}|{open311.utc_key(case['submitted_at'])}"})
            return True
        except pymongo.errors.PyMongoError:
            log.exception("open311: case %s stored but not indexed for client %s", case["case_id"], client)
            return False

    def _open311_by_ids(self, client: str, ids: list[str]) -> list[dict]:
        found = {c["_id"]: c for c in self.db[store.CASES].find({"_id": {"$in": list(ids)}})}
        return [found[i] for i in ids if i in found and open311.submitted_by(found[i]) == client]

    def _open311_list(self, client: str, query: open311.Query) -> list[dict]:
        """The client's requests in the window, newest first, at most MAX_RESULTS of them."""
        _ensure_indexes(self.db)
        window = {"$gte": f"{client}|{open311.utc_key(query.start)}", "$lte": f"{client}|{open311.utc_key(query.end)}"}
        records = self.db[REQUESTS].find({"client_at": window}, {"_id": 1, "service_code": 1}).sort(
            "client_at", -1).limit(SCAN_MAX)
        ids = [r["_id"] for r in records
               if not query.service_codes or r.get("service_code") in query.service_codes]
        out: list[dict] = []
        for start in range(0, len(ids), 100):
            chunk = ids[start:start + 100]
            found = {c["_id"]: c for c in self.db[store.CASES].find({"_id": {"$in": chunk}})}
            out += [found[i] for i in chunk if i in found and open311.submitted_by(found[i]) == client
                    and open311.keeps(query, found[i])]
            if len(out) >= open311.MAX_RESULTS:
                break
        return out[:open311.MAX_RESULTS]

    def _open311_views(self, found: list[dict]) -> list[dict]:
        committees = sorted({c["handling_committee"] for c in found})
        names = {p["_id"]: p["name"] for p in self.db[store.PLACES].find({"_id": {"$in": committees}})} \
            if committees else {}
        return [open311.request_view(c, names.get(c["handling_committee"])) for c in found]
