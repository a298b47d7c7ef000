"""Rendering the portal's pages: the templates (``gateway/templates/portal/``), the stylesheet
(``gateway/static/portal.css``), the headers every page carries (the console's: no script,
nothing from elsewhere), and what an error becomes."""
from __future__ import annotations

from pathlib import Path

import jinja2
from werkzeug.wrappers import Response

from contracts.rpc.community import CASE_STATUS_NAMES, MATTER_AUDIENCES, MATTER_LIFE_EVENTS
from gateway.console.pages import HEADERS, TRAIL_NAMES, when

GATEWAY = Path(__file__).parent.parent
PAGES = jinja2.Environment(loader=jinja2.FileSystemLoader(GATEWAY / "templates" / "portal"),
                           autoescape=True, trim_blocks=True, lstrip_blocks=True)
PAGES.filters["when"] = when


def wall(value: str | None) -> str:
    """A time already on the district's clock, as the TV guide gives it (``2026-12-08T19:00``,
    China Standard Time, no offset): shown as it is (``when`` would take it for UTC)."""
    return str(value or "")[:16].replace("T", " ")


PAGES.filters["wall"] = wall
CSS = (GATEWAY / "static" / "portal.css").read_bytes()

JURISDICTION_NAMES = {"RESIDENCE": "居住地办理", "REGISTRATION": "户籍地办理", "ACCEPTING_DESK": "就近办理"}
ELDER_COOKIE = "portal_elder"

# What a GraphQL error code becomes: the HTTP status and the page's words.
ERRORS = {
    "NOT_FOUND": (404, "没有找到这条记录", "它可能不存在，或不属于您。"),
    "FORBIDDEN": (403, "无权查看", "这项内容只有本人可以查看。"),
    "BAD_USER_INPUT": (400, "填写的内容有误", None),
    "CONFLICT": (409, "未能办理", "记录刚刚有了变化，请返回刷新后再试。"),
    "UNAVAILABLE": (503, "服务暂时不可用", "请稍后再试；如急需办理，可前往居住地社区事务受理点。"),
}
FALLBACK = (500, "系统出错了", "请稍后再试，或拨打社区服务热线。")


def html(status: int, template: str, request, **context) -> Response:
    elder = request.cookies.get(ELDER_COOKIE) == "1"
    body = PAGES.get_template(template).render(
        status_names=CASE_STATUS_NAMES, trail_names=TRAIL_NAMES, audience_names=MATTER_AUDIENCES,
        life_event_names=MATTER_LIFE_EVENTS, jurisdiction_names=JURISDICTION_NAMES, elder=elder,
        here=request.path, **context)
    return Response(body, status=status, content_type="text/html; charset=utf-8", headers=HEADERS)


def redirect(location: str) -> Response:
    return Response("", status=303, headers={"Location": location, **HEADERS})


def back_to(path: str | None) -> str:
    """A page of ours to go back to (never another site: ``//evil`` or a scheme is refused)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path or len(path) > 200:
        return "/"
    return path
