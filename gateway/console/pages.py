"""Rendering the console's pages: the templates (``gateway/templates/console/``), the
stylesheet (``gateway/static/console.css``), the headers every page carries, and the page
an error becomes (its title and HTTP status)."""
from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import jinja2
from nameko.exceptions import RemoteError
from werkzeug.wrappers import Response

from contracts.rpc.community import CASE_STATUS_NAMES
from gateway.fanout import Unavailable
from services.common import clock

log = logging.getLogger(__name__)

GATEWAY = Path(__file__).parent.parent
PAGES = jinja2.Environment(loader=jinja2.FileSystemLoader(GATEWAY / "templates" / "console"),
                           autoescape=True, trim_blocks=True, lstrip_blocks=True)
CSS = (GATEWAY / "static" / "console.css").read_bytes()

HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

TRAIL_NAMES = {"submit": "提交申请", "accept": "受理", "start": "开始办理", "request_supplement": "要求补正",
               "supplement": "补正材料", "assign": "指派", "transfer": "转办", "complete": "办结",
               "reject": "不予受理", "withdraw": "撤回", "due_soon": "即将到期提醒", "overdue": "超期提醒",
               "deadline_set": "期限确定", "urge": "督办", "urge_answered": "答复督办", "rate": "居民评价",
               # replies of the district that handles a forwarded case (收受分离 across districts)
               "remote_accepted": "户籍地已受理", "remote_needs_materials": "户籍地要求补正",
               "remote_done": "户籍地已办结", "remote_refused": "户籍地不予受理"}
ROLE_NAMES = {"staff": "工作人员", "admin": "管理员", "system": "系统", "resident": "居民", "guardian": "监护人",
              "supervisor": "监察人员", "centre": "街镇受理中心"}
CODE_TITLES = {
    "BadInput": "填写的内容有误，未能办理",
    "Conflict": "操作未完成：案件已被他人修改，或当前状态不允许此操作。页面显示的是最新状态，请核对后重试",
    "Forbidden": "无权执行此操作",
    "NotFound": "未找到该记录（或不属于本社区）",
}


def when(value: str | None) -> str:
    """A stored instant as the district's clock reads it: ``2026-03-02T02:15:00.1+00:00`` →
    ``2026-03-02 10:15`` (stamps are kept in UTC; a clerk reads local time)."""
    if not value or len(str(value)) <= 10:   # nothing, or a day alone
        return str(value or "")
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)[:16].replace("T", " ")
    return clock.local(moment).strftime("%Y-%m-%d %H:%M")


PAGES.filters["when"] = when


def html(http_status: int, template: str, **context) -> Response:
    body = PAGES.get_template(template).render(status_names=CASE_STATUS_NAMES, trail_names=TRAIL_NAMES,
                                               role_names=ROLE_NAMES, **context)
    return Response(body, status=http_status, content_type="text/html; charset=utf-8", headers=HEADERS)


def redirect(location: str) -> Response:
    return Response("", status=303, headers={"Location": location, **HEADERS})


def error_of(exc: BaseException) -> dict:
    """What an error page says of ``exc``: a title, and the service's words when it has any."""
    if isinstance(exc, Unavailable):
        return {"title": "服务暂时不可用，请稍后再试", "detail": str(exc)}
    if isinstance(exc, RemoteError):
        title = CODE_TITLES.get(exc.exc_type)
        if title:
            return {"title": title, "detail": exc.value}
    log.error("console: unexpected error", exc_info=exc)
    return {"title": "系统出错，请稍后再试或联系管理员", "detail": None}


def status_of(exc: BaseException) -> int:
    if isinstance(exc, Unavailable):
        return 503
    if isinstance(exc, RemoteError):
        return {"BadInput": 400, "Conflict": 409, "Forbidden": 403, "NotFound": 404}.get(exc.exc_type, 500)
    return 500


def attachment(name: str) -> str:
    """A Content-Disposition that carries a Chinese file name (RFC 6266 / 5987) safely."""
    fallback = "".join(c if c.isascii() and c.isalnum() or c in "._-" else "_" for c in name) or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
