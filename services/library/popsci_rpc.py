"""Popular-science sharing: the library service's RPCs and the providers' HTTP door (a mixin
of ``LibraryService``, which gives ``self.db`` and ``self.config``).

- The door, on the library's own port (providers are institutes and companies outside the
  broker, as school terminals are): ``POST /popsci/v1/items`` (multipart: ``item``, the JSON
  of ``PopsciItemV1``, and ``file`` unless it is an exhibition) with ``X-Provider`` and
  ``X-Provider-Key``; the item lands pending review. ``GET /popsci/v1/items/<id>``: the
  provider's own item (its status, an editor's reason). ``POST /popsci/v1/items/<id>/publish``
  is refused to every provider (403): only an editor publishes. ``GET /popsci/v1/preview/<id>``:
  an item's file for the editor whose signed link it is (``popsci_preview_link``), with ranges.
  Answers are JSON: 200/201, or
  ``{"error": CODE, "message": ...}`` with 400, 403, 404, 409, 413 (over ``DIGITAL_MAX_BYTES``).
- RPCs: ``popsci_provider_add|revoke`` (``suite provider``), ``popsci_queue``,
  ``popsci_preview_link``, ``popsci_review`` and ``popsci_place_on_tv`` (an editor, the console), ``popular_science``
  (the portal), ``usage_statistics`` (editors and the supervision reports).
"""
from __future__ import annotations

import json
import logging

from nameko.web.handlers import http
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from contracts.rpc.library import DIGITAL_MAX_BYTES
from services.common.arguments import page_limit
from services.common.config import option
from services.common.errors import BadInput, Forbidden, SuiteError
from services.common.rpc import rpc, translate
from services.library import digital, popsci_actions

log = logging.getLogger(__name__)
STATUS = {"BAD_USER_INPUT": 400, "FORBIDDEN": 403, "NOT_FOUND": 404, "CONFLICT": 409}
JSON = "application/json; charset=utf-8"
FORM_SLACK = 64 * 1024   # the item's JSON and the multipart framing around the file


def _json(status: int, body: dict) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, content_type=JSON)


def _refusal(exc: Exception) -> Response:
    """What the door answers for an error: JSON with its status, never a trace."""
    if isinstance(exc, RequestEntityTooLarge):
        return _json(413, {"error": "BAD_USER_INPUT", "message": "the upload is larger than the library takes "
                                                                  "(DIGITAL_MAX_BYTES)"})
    known = translate(exc)
    if isinstance(known, SuiteError) and known.code in STATUS:
        return _json(STATUS[known.code], {"error": known.code, "message": str(known)})
    log.exception("popsci door: unexpected error", exc_info=exc)
    return _json(500, {"error": "INTERNAL", "message": "internal error"})


class PopsciEntrypoints:
    """Providers' uploads, editors' reviews and TV placements, residents' list, usage."""

    # ---- the providers' door --------------------------------------------------------------

    @http("POST", "/popsci/v1/items")
    def popsci_http_upload(self, request):
        def work():
            provider = self._popsci_provider(request)
            limit = int(option(self.config, "DIGITAL_MAX_BYTES", DIGITAL_MAX_BYTES))
            if request.content_length is not None and request.content_length > limit + FORM_SLACK:
                raise RequestEntityTooLarge()
            request.max_content_length = limit + FORM_SLACK
            try:
                item = json.loads(request.form.get("item") or "")
            except ValueError:
                raise BadInput("the 'item' part is the item's JSON (PopsciItemV1)") from None
            part = request.files.get("file")
            data = part.read(limit + 1) if part else None
            return 201, popsci_actions.upload(self.db, provider, item, part and part.filename,
                                              part and part.mimetype, data, limit)
        return self._popsci_answer(work)

    @http("GET", "/popsci/v1/items/<string:item_id>")
    def popsci_http_item(self, request, item_id):
        return self._popsci_answer(lambda: (200, popsci_actions.provider_item(
            self.db, self._popsci_provider(request), item_id)))

    @http("POST", "/popsci/v1/items/<string:item_id>/publish")
    def popsci_http_publish(self, request, item_id):
        """No provider publishes: the credential is checked (an unknown one learns nothing more),
        then the answer is the same 403 for every item."""
        def work():
            self._popsci_provider(request)
            raise Forbidden("a provider cannot publish: a library or learning editor reviews every upload")
        return self._popsci_answer(work)

    @http("GET", "/popsci/v1/preview/<string:item_id>")
    def popsci_http_preview(self, request, item_id):
        """An editor's preview of an item's file (a link ``popsci_preview_link`` signed), with ranges."""
        try:
            args = request.args
            found = popsci_actions.previewed_file(self.db, item_id, args.get("reader"), args.get("expires"),
                                                  args.get("sig"))
            return self._file_response(request, found)
        except digital.Unsatisfiable:
            return Response(b"", status=416, headers={"Content-Range": f"bytes */{found['size']}"})
        except Exception as exc:   # noqa: BLE001 - each kind answered by _refusal, the unknown logged
            return _refusal(exc)

    def _popsci_provider(self, request) -> dict:
        return popsci_actions.signed_in_provider(self.db, request.headers.get("X-Provider"),
                                                 request.headers.get("X-Provider-Key"))

    @staticmethod
    def _popsci_answer(work) -> Response:
        try:
            status, body = work()
            return _json(status, body)
        except Exception as exc:   # noqa: BLE001 - each kind answered by _refusal, the unknown logged
            return _refusal(exc)

    # ---- RPCs -----------------------------------------------------------------------------

    @rpc
    def popsci_provider_add(self, provider_id: str, name: str, key_hash: str, replace: bool = False) -> dict:
        return popsci_actions.add_provider(self.db, provider_id, name, key_hash, replace)

    @rpc
    def popsci_provider_revoke(self, provider_id: str) -> bool:
        return popsci_actions.revoke_provider(self.db, provider_id)

    @rpc
    def popsci_queue(self, actor: dict, status: str = "pending", limit: int = 50) -> list[dict]:
        """An editor's list of items by status (the pending queue oldest first)."""
        return popsci_actions.queue(self.db, actor, status, page_limit(limit, 200))

    @rpc
    def popsci_review(self, actor: dict, item_id: str, review: dict) -> dict:
        """An editor publishes or rejects a pending item (``PopsciReviewV1``)."""
        return popsci_actions.review(self.db, actor, item_id, review)

    @rpc
    def popsci_preview_link(self, actor: dict, item_id: str) -> dict:
        """A link for an editor to see or play an item's file (pending or published) before deciding."""
        return popsci_actions.preview_link(self.db, actor, item_id, self._base_url())

    @rpc
    def popsci_place_on_tv(self, actor: dict, item_id: str, placement: dict) -> dict:
        """An editor places a published video with a TV rendition in the schedule (``PopsciTvPlacementV1``)."""
        return popsci_actions.place_on_tv(self.db, actor, item_id, placement)

    @rpc
    def popular_science(self, audience: str | None = None, limit: int = 20) -> list[dict]:
        """Published items for residents, newest first, for one audience when asked."""
        return popsci_actions.published(self.db, audience, page_limit(limit, 50))

    @rpc
    def usage_statistics(self, actor: dict, provider_id: str | None = None) -> dict:
        """``UsageStatisticsV1``: per digital resource and per provider, borrows, plays and unique readers."""
        return popsci_actions.usage_statistics(self.db, actor, provider_id)
