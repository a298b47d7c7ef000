"""Every answer of the LRS: a resource's work run on the request it reads, each refusal as
JSON with its status, and the headers every answer carries (the version it claims, CORS;
Statement answers also ``X-Experience-API-Consistent-Through``)."""
from __future__ import annotations

import json
import logging
import uuid
from typing import Callable

import pymongo
from werkzeug.datastructures import Headers
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from services.elearning.xapi import statement_store
from services.elearning.xapi.alternate_syntax import check_alternate_allowed
from services.elearning.xapi.attachments import AttachmentData
from services.elearning.xapi.errors import XapiError
from services.elearning.xapi.lrs_request import LrsRequest
from services.elearning.xapi.timestamps import format_timestamp
from services.elearning.xapi.versions import claimed, negotiate_version, version_or_none

log = logging.getLogger(__name__)

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


def json_bytes(data) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def serve(request, work, *, statements: bool = False, need_version: bool = True,
          last_version: Callable[[Headers], str | None] | None = None) -> Response:
    """Run ``work(lrs_request, version)`` -> Response; every refusal as JSON with its
    status; the common headers on every answer. A request that names no version this LRS
    speaks is answered in the one ``last_version`` gives for its headers (the version its
    client last spoke: the request cannot tell whether it was meant as 1.0.3 or 2.0.0)."""
    version = None
    try:
        if request.method == "OPTIONS":
            response = Response(status=204)
        else:
            version = version_or_none(request.headers.get("X-Experience-API-Version"))  # to answer a bad form in
            lrs = LrsRequest.of(request)
            header = lrs.headers.get("X-Experience-API-Version")
            version = negotiate_version(header) if need_version else version_or_none(header)
            if lrs.alternate and version is not None:
                check_alternate_allowed(version)
            response = work(lrs, version)
    except XapiError as exc:
        response = error(exc.status, exc.message, exc.headers)
    except RequestEntityTooLarge:
        response = error(413, "the request is larger than this LRS takes")
    except (pymongo.errors.ConnectionFailure, pymongo.errors.ServerSelectionTimeoutError):
        log.warning("xapi: the document store is unavailable", exc_info=True)
        response = error(503, "temporarily unavailable")
    except Exception:
        log.exception("xapi: unexpected error")
        response = error(500, "internal error")
    if version is None and last_version is not None and request.method != "OPTIONS":
        try:
            version = last_version(request.headers)
        except Exception:
            log.warning("xapi: the version a client last spoke could not be read", exc_info=True)
    response.headers["X-Experience-API-Version"] = claimed(version)
    if statements:
        response.headers["X-Experience-API-Consistent-Through"] = format_timestamp(statement_store.consistent_through())
    for name, value in CORS.items():
        response.headers.setdefault(name, value)
    return response


def error(status: int, message: str, headers: dict | None = None) -> Response:
    return Response(json_bytes({"error": {"code": status, "message": message}}), status=status,
                    content_type=JSON, headers=headers or {})


def multipart(payload: bytes, attachments: list[AttachmentData]) -> Response:
    """``attachments=true``: the multipart/mixed answer, the statements first, then the raw
    data of each attachment stored for them (once per SHA-2)."""
    boundary = uuid.uuid4().hex
    chunks = [f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode(), payload]
    for a in attachments:
        chunks += [f"\r\n--{boundary}\r\nContent-Type: {a.content_type}\r\nContent-Transfer-Encoding: binary\r\n"
                   f"X-Experience-API-Hash: {a.sha2}\r\n\r\n".encode(), a.data]
    chunks.append(f"\r\n--{boundary}--\r\n".encode())
    return Response(b"".join(chunks), status=200, content_type=f"multipart/mixed; boundary={boundary}")
