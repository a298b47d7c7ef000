"""Matters (事项) as callers see them, and the staff's notice templates of a matter, free of I/O."""
from __future__ import annotations

from services.common.errors import BadInput
from services.community import notices


def view(m: dict) -> dict:
    return {"code": m["_id"], "name": m["name"], "jurisdiction": m["jurisdiction"],
            "materials": m.get("materials", []), "promised_days": m["promised_days"],
            "public": bool(m.get("public", True)), "description": m.get("description", ""),
            "audiences": m.get("audiences") or [], "life_event": m.get("life_event"),
            "templates": sorted((m.get("templates") or {}).keys())}


def check_template(kind: str, source: str | None) -> None:
    """A template of ``kind`` as staff may save it (checked in the sandbox); None removes it."""
    if kind not in notices.KINDS:
        raise BadInput(f"kind must be one of {', '.join(notices.KINDS)}")
    if source is not None and not isinstance(source, str):
        raise BadInput("a template is text")
    if source is not None:
        try:
            notices.check_template(source)
        except notices.TemplateRefused as exc:
            raise BadInput(f"template refused: {exc}") from None
