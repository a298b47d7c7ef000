"""Digital resources: the library service's RPCs and its HTTP door (a mixin of
``LibraryService``, which gives ``self.db`` and ``self.config``).

- RPCs: ``add_digital_resource`` (an operator: a title record, a licence and the file, base64),
  ``borrow_digital``, ``return_digital``, ``hold_digital``, ``digital_shelf``, ``digital_resource``
  and ``digital_link`` (a signed link for this reader, if they may read it now).
- ``GET /digital/v1/<resource>?reader=&expires=&sig=`` on the library's own port serves the file
  to whoever holds a valid link, with ``Range`` (206, 416): the bytes go from GridFS to the reader
  chunk by chunk, never through the broker (a video in base64 RPC answers would not play).

Files travel base64 in the RPC that adds them, at most ``DIGITAL_MAX_BYTES``.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
from urllib.parse import quote

from nameko.web.handlers import http
from werkzeug.wrappers import Response

from contracts.rpc.library import DIGITAL_MAX_BYTES
from services.common import clock
from services.common.arguments import checked_resident_id
from services.common.config import option
from services.common.errors import BadInput, SuiteError
from services.common.rpc import rpc, translate
from services.library import digital, digital_actions, digital_store, popsci_store

log = logging.getLogger(__name__)
STATUS = {"BAD_USER_INPUT": 400, "FORBIDDEN": 403, "NOT_FOUND": 404}


def _resource_id(value) -> str:
    if not isinstance(value, str) or not digital.RESOURCE_ID.match(value):
        raise BadInput("a resource id is up to 64 letters, digits and _ . : -")
    return value


class DigitalEntrypoints:
    """Digital resources lent by licence, and the door their files are read through."""

    def _max_bytes(self) -> int:
        return int(option(self.config, "DIGITAL_MAX_BYTES", DIGITAL_MAX_BYTES))

    def _base_url(self) -> str:
        """Where readers reach this service's port (``LIBRARY_PUBLIC_URL`` behind a proxy)."""
        return str(option(self.config, "LIBRARY_PUBLIC_URL", "")).rstrip("/") or \
            "http://" + str(self.config.get("WEB_SERVER_ADDRESS", "127.0.0.1:8002"))

    @rpc
    def add_digital_resource(self, record: dict, licence: dict, name: str, content_type: str,
                             data_base64: str) -> dict:
        """An operator adds (or replaces) a digital resource; nothing is stored when any part is wrong."""
        limit = self._max_bytes()
        if not isinstance(data_base64, str) or len(data_base64) > (limit * 4) // 3 + 8:
            raise BadInput(f"a file may be at most {limit} bytes")
        try:
            data = base64.b64decode(data_base64, validate=True)
        except (binascii.Error, ValueError):
            raise BadInput("the file's data is not base64") from None
        return digital_actions.add_resource(self.db, record, licence, name, content_type, data, limit)

    @rpc
    def digital_resource(self, resource_id: str) -> dict:
        return digital_actions.resource(self.db, _resource_id(resource_id))

    @rpc
    def borrow_digital(self, resident_id: str, resource_id: str) -> dict:
        return digital_actions.borrow(self.db, checked_resident_id(resident_id), _resource_id(resource_id),
                                      int(option(self.config, "DIGITAL_LOANS_PER_READER", digital.MAX_LOANS)))

    @rpc
    def return_digital(self, resident_id: str, resource_id: str) -> dict:
        return digital_actions.give_back(self.db, checked_resident_id(resident_id), _resource_id(resource_id))

    @rpc
    def hold_digital(self, resident_id: str, resource_id: str) -> dict:
        return digital_actions.place_hold(self.db, checked_resident_id(resident_id), _resource_id(resource_id))

    @rpc
    def digital_shelf(self, resident_id: str) -> dict:
        return digital_actions.shelf(self.db, checked_resident_id(resident_id))

    @rpc
    def digital_link(self, resident_id: str, resource_id: str) -> dict:
        """A link to read the resource, signed for this reader, valid ``digital.LINK_SECONDS``."""
        return digital_actions.open_link(self.db, checked_resident_id(resident_id), _resource_id(resource_id),
                                         self._base_url())

    @http("GET", "/digital/v1/<string:resource_id>")
    def digital_file(self, request, resource_id):
        try:
            return self._serve(request, resource_id)
        except digital.Unsatisfiable:
            title = digital_store.title(self.db, resource_id)
            return Response(b"", status=416, headers={"Content-Range": f"bytes */{title['digital']['size']}"})
        except Exception as exc:   # noqa: BLE001 - each kind answered below, the unknown logged
            known = translate(exc)
            if isinstance(known, SuiteError) and known.code in STATUS:
                return Response(json.dumps({"error": known.code, "message": str(known)}, ensure_ascii=False),
                                status=STATUS[known.code], content_type="application/json; charset=utf-8")
            log.exception("digital file: unexpected error")
            return Response(b'{"error": "INTERNAL"}', status=500, content_type="application/json")

    def _serve(self, request, resource_id: str) -> Response:
        args = request.args
        reader = digital.verify(digital_actions.link_key(self.db), _resource_id(resource_id), args.get("reader"),
                                args.get("expires"), args.get("sig"), clock.now())
        title = digital_store.title(self.db, resource_id)
        if title is None:
            raise BadInput("no such resource")   # a valid signature for a resource since removed
        digital_actions.check_reader(self.db, title, reader)   # a returned loan's link stops at once
        wanted = digital.byte_range(request.headers.get("Range"), title["digital"]["size"])
        if wanted is None or wanted[0] == 0:   # a play or a read begun (a player's later ranges continue it)
            popsci_store.count_use(self.db, title, reader, plays=1)
        return self._file_response(request, title["digital"])

    def _file_response(self, request, d: dict) -> Response:
        """A stored file (``name``, ``size``, ``content_type``, ``file_id``) whole or the one range
        asked (206); ``digital.Unsatisfiable`` for a range outside it."""
        size = d["size"]
        wanted = digital.byte_range(request.headers.get("Range"), size)
        first, last = wanted or (0, size - 1)
        headers = {"Accept-Ranges": "bytes", "Content-Length": str(last - first + 1), "Cache-Control": "private",
                   "Content-Disposition": f"inline; filename*=UTF-8''{quote(d['name'])}"}
        if wanted:
            headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        return Response(digital_store.read_file(self.db, d["file_id"], first, last), status=206 if wanted else 200,
                        headers=headers, content_type=d["content_type"], direct_passthrough=True)
