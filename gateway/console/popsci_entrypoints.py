"""The editors' ``/console/popsci`` routes (``@http``), mixed into ``GatewayService``: the queue
of popular-science uploads waiting for review (each with its provider, kind, audience, file or
dates and place), the review form (publish, or reject with a reason the provider reads;
CSRF-checked), the published items with the form that places a video with a TV rendition in
the TV schedule, and the usage per resource and provider. Only editors' sessions open them
(``EDITORS``); what an editor may do is the library service's decision
(services/library/popsci.py)."""
from __future__ import annotations

import re

from nameko.exceptions import RemoteError
from nameko.web.handlers import http

from gateway.calls import Calls
from gateway.console import pages
from gateway.console.session import EDITORS, ConsoleSession, Signed
from gateway.fanout import Unavailable

ITEM_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
LOCAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$")   # what <input type="datetime-local"> sends
NAMES = {"kind_names": {"video": "视频", "article": "文章", "exhibition": "展览"},
         "audience_names": {"children": "少年儿童", "teenagers": "青少年", "adults": "成年人", "elderly": "老年人",
                            "families": "家庭", "everyone": "所有人"},
         "licence_names": {"open": "公开", "unlimited": "持证读者不限量", "one_reader": "按复本借阅"},
         "status_names_popsci": {"pending": "待审核", "published": "已发布", "rejected": "已退回"}}
DONE = {"published": "已发布：居民可在图书馆检索和学习栏目中看到。", "rejected": "已退回，提供方可看到退回原因。",
        "placed": "已排入电视课表。"}


class PopsciConsoleEntrypoints(ConsoleSession):
    """The editors' pages."""

    @http("GET", "/console/popsci")
    def console_popsci(self, request):
        def work(signed: Signed, calls: Calls):
            return self._popsci_list(signed, calls, "pending", "popsci_queue.html",
                                     flash=DONE.get(request.args.get("done")))
        return self._console_signed(request, work, roles=EDITORS)

    @http("GET", "/console/popsci/published")
    def console_popsci_published(self, request):
        def work(signed: Signed, calls: Calls):
            return self._popsci_list(signed, calls, "published", "popsci_published.html",
                                     flash=DONE.get(request.args.get("done")))
        return self._console_signed(request, work, roles=EDITORS)

    @http("GET", "/console/popsci/<string:item_id>/preview")
    def console_popsci_preview(self, request, item_id):
        """The item's file, through a link the library signs for this editor alone (the bytes
        go from the library's port to the browser, as residents' do)."""
        def work(signed: Signed, calls: Calls):
            if not ITEM_ID.match(item_id):
                return self._popsci_list(signed, calls, "pending", "popsci_queue.html", http_status=404,
                                         error={"title": "未找到该上传", "detail": None})
            try:
                link = calls.call("library", "popsci_preview_link", signed.actor, item_id)
            except RemoteError as exc:
                if exc.exc_type not in pages.CODE_TITLES:
                    raise
                return self._popsci_list(signed, self._console_calls(), "pending", "popsci_queue.html",
                                         http_status=pages.status_of(exc), error=pages.error_of(exc))
            return pages.redirect(link["url"])
        return self._console_signed(request, work, roles=EDITORS)

    @http("POST", "/console/popsci/<string:item_id>/review")
    def console_popsci_review(self, request, item_id):
        def work(signed: Signed, calls: Calls):
            form = self._console_form(request)
            decision = form.get("decision") or ""
            review = {"decision": decision, "reason": (form.get("reason") or "").strip()[:500]}
            if not ITEM_ID.match(item_id) or decision not in ("publish", "reject"):
                return self._popsci_list(signed, calls, "pending", "popsci_queue.html", http_status=400,
                                         error={"title": "请选择发布或退回", "detail": None})
            return self._popsci_step(signed, calls, "popsci_review", item_id, review, "pending", "popsci_queue.html",
                                     "/console/popsci?done=" + ("published" if decision == "publish" else "rejected"))
        return self._console_signed(request, work, csrf=True, roles=EDITORS)

    @http("POST", "/console/popsci/<string:item_id>/tv")
    def console_popsci_tv(self, request, item_id):
        def work(signed: Signed, calls: Calls):
            form = self._console_form(request)
            channel, starts_at = (form.get("channel") or "").strip()[:50], (form.get("starts_at") or "").strip()
            if not ITEM_ID.match(item_id) or not channel or not LOCAL_TIME.match(starts_at):
                return self._popsci_list(signed, calls, "published", "popsci_published.html", http_status=400,
                                         error={"title": "请填写频道和播出时间", "detail": None})
            return self._popsci_step(signed, calls, "popsci_place_on_tv", item_id,
                                     {"channel": channel, "starts_at": starts_at}, "published",
                                     "popsci_published.html", "/console/popsci/published?done=placed")
        return self._console_signed(request, work, csrf=True, roles=EDITORS)

    @http("GET", "/console/popsci/usage")
    def console_popsci_usage(self, request):
        def work(signed: Signed, calls: Calls):
            usage = calls.call("library", "usage_statistics", signed.actor, None)
            return self._popsci_page(200, "popsci_usage.html", signed, usage=usage)
        return self._console_signed(request, work, roles=EDITORS)

    # ---- pages --------------------------------------------------------------------------

    def _popsci_step(self, signed: Signed, calls: Calls, rpc: str, item_id: str, body: dict, item_status: str,
                     template: str, done_url: str):
        try:
            calls.call("library", rpc, signed.actor, item_id, body)
        except (Unavailable, RemoteError) as exc:
            if isinstance(exc, RemoteError) and exc.exc_type not in pages.CODE_TITLES:
                raise
            return self._popsci_list(signed, self._console_calls(), item_status, template,
                                     http_status=pages.status_of(exc), error=pages.error_of(exc))
        return pages.redirect(done_url)

    def _popsci_list(self, signed: Signed, calls: Calls, item_status: str, template: str, http_status: int = 200,
                     **context):
        items = calls.call("library", "popsci_queue", signed.actor, item_status, 100)
        return self._popsci_page(http_status, template, signed, items=items, **context)

    def _popsci_page(self, http_status: int, template: str, signed: Signed, **context):
        return pages.html(http_status, template, who=signed.who, role=signed.role,
                          csrf=self.console_keys.csrf("session", signed.session_id), **NAMES, **context)
