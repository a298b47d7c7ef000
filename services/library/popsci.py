"""Popular-science sharing (科普信息化), free of I/O: providers and their credentials, what an
upload becomes, an editor's review, a placement on TV, and usage as the reports read it.

- **Providers** (an institute or a company) each have a credential of their own, made by
  ``suite provider add`` and shown once: the provider sends its id and key with every upload
  (``X-Provider``, ``X-Provider-Key``); the library keeps only the key's scrypt hash (the
  suite's one hashing helper, as for SIP2 machines), so a stolen database signs in no one.
  An unknown or revoked provider, or another key: Forbidden, nothing stored.
- **Uploads land pending review**, whatever they say: only an editor (a staff account of role
  ``editor``) publishes or rejects (with a reason the provider reads). A provider has no way to
  publish; nothing pending is in the catalogue or readable.
- **Published** items become titles of the catalogue (a video or an article with its file as a
  digital resource, readable by its licence; an exhibition with its dates and place, no file),
  shown in the portal's learning section.
- **TV**: a published video whose provider gave a TV rendition (``tv_minutes``) may be placed
  in the TV schedule; the elearning service's guide shows it (``PopsciTvScheduledV1``).
"""
from __future__ import annotations

import re
from datetime import datetime

from pydantic import ValidationError

from contracts.rpc.popsci import PopsciItemV1, PopsciReviewV1, PopsciTvPlacementV1
from services.common.errors import BadInput, Conflict, Forbidden

PROVIDER_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")
KEY = re.compile(r"^[A-Za-z0-9_-]{43,86}$")   # token_urlsafe of 32 to 64 bytes
PENDING, PUBLISHED, REJECTED = "pending", "published", "rejected"
EDITOR_ROLES = ("editor",)
# who reads the usage statistics: editors, and supervision (its reports) and admins
USAGE_READERS = ("editor", "supervisor", "admin")
FILE_TYPES = {"video": ("video/mp4",), "article": ("application/pdf", "application/epub+zip")}


def check_provider_id(value) -> str:
    if not isinstance(value, str) or not PROVIDER_ID.match(value):
        raise BadInput("a provider id is 2-64 lower-case letters, digits, '.', '_' or '-'")
    return value


def check_name(value) -> str:
    name = str(value or "").strip()
    if not 1 <= len(name) <= 100:
        raise BadInput("a provider's name has 1 to 100 characters")
    return name


def may_upload(provider: dict | None, key_matches: bool) -> dict:
    """The provider when its credential holds; Forbidden otherwise (the same words whether the
    id is unknown, revoked or the key wrong: the answer tells a stranger nothing)."""
    if provider is None or provider.get("revoked_at") or not key_matches:
        raise Forbidden("unknown provider, revoked credential or wrong key")
    return provider


def checked_item(item) -> PopsciItemV1:
    try:
        return PopsciItemV1.model_validate(item if isinstance(item, dict) else {})
    except ValidationError as exc:
        raise BadInput(_errors(exc)) from None


def check_file_kind(item: PopsciItemV1, has_file: bool, content_type: str | None) -> None:
    """A video carries an MP4, an article an EPUB or a PDF (as its bytes say), an exhibition no file."""
    if item.kind == "exhibition":
        if has_file:
            raise BadInput("an exhibition has no file: its dates and place describe it")
        return
    if not has_file:
        raise BadInput(f"a {item.kind} needs its file")
    if content_type not in FILE_TYPES[item.kind]:
        raise BadInput(f"a {item.kind} is {' or '.join(FILE_TYPES[item.kind])}; this file is {content_type}")


def new_item(item_id: str, provider: dict, item: PopsciItemV1, file: dict | None, now: datetime) -> dict:
    """The pending item as stored (``file``: name, content type, kind, size, GridFS id)."""
    return {"_id": item_id, "provider": provider["_id"], "provider_name": provider["name"], "status": PENDING,
            "item": item.model_dump(mode="json"), "file": file, "uploaded_at": now.isoformat(),
            "review": None, "tv": {}}


def checked_review(review) -> PopsciReviewV1:
    try:
        return PopsciReviewV1.model_validate(review if isinstance(review, dict) else {})
    except ValidationError as exc:
        raise BadInput(_errors(exc)) from None


def may_review(actor, item: dict) -> None:
    """Only an editor reviews, and only what waits for review (a provider never publishes)."""
    if not isinstance(actor, dict) or actor.get("role") not in EDITOR_ROLES or not actor.get("id"):
        raise Forbidden("only a library or learning editor reviews popular-science uploads")
    if item["status"] != PENDING:
        raise Conflict(f"this item was {item['status']} already")


def may_preview(actor, item: dict) -> None:
    """An editor sees an item's file before deciding (and after): only an editor, only a file."""
    if not isinstance(actor, dict) or actor.get("role") not in EDITOR_ROLES or not actor.get("id"):
        raise Forbidden("only a library or learning editor previews uploads")
    if not item.get("file") or item["status"] == REJECTED:
        raise BadInput("this item has no file to preview (an exhibition, or rejected)")


def preview_resource(item_id: str) -> str:
    """What a preview link is signed for: never a resource id (those have no ``|``), so a
    preview link opens no reader's resource and a reader's link no preview."""
    return f"preview|{item_id}"


def preview_reader(actor: dict) -> str:
    return f"editor|{actor['id']}"


def title_record(item: dict) -> dict:
    """The catalogue's record of a published item (``TitleRecordV1``): found by its title,
    subjects and provider like any title."""
    meta = item["item"]
    return {"record_id": item["_id"], "title": meta["title"], "authors": [item["provider_name"]],
            "subjects": [*meta["subjects"], "科普"], "material_type": "av" if meta["kind"] == "video" else "other"}


def checked_placement(actor, item: dict, placement) -> PopsciTvPlacementV1:
    if not isinstance(actor, dict) or actor.get("role") not in EDITOR_ROLES or not actor.get("id"):
        raise Forbidden("only a library or learning editor places items in the TV schedule")
    try:
        checked = PopsciTvPlacementV1.model_validate(placement if isinstance(placement, dict) else {})
    except ValidationError as exc:
        raise BadInput(_errors(exc)) from None
    if item["status"] != PUBLISHED:
        raise Conflict("only a published item is placed in the TV schedule")
    if not item["item"].get("tv_minutes"):
        raise BadInput("this item has no TV rendition (its provider gave none)")
    return checked


def item_view(item: dict, with_review: bool = True) -> dict:
    """An item as the provider, the editors and the portal read it."""
    meta = item["item"]
    view = {"item_id": item["_id"], "status": item["status"], "provider_id": item["provider"],
            "provider_name": item["provider_name"], "kind": meta["kind"], "title": meta["title"],
            "description": meta.get("description", ""), "subjects": meta["subjects"], "audience": meta["audience"],
            "licence": meta["licence"]["model"], "starts_on": meta.get("starts_on"), "ends_on": meta.get("ends_on"),
            "place": meta.get("place"), "tv_minutes": meta.get("tv_minutes"), "uploaded_at": item["uploaded_at"],
            "resource_id": item["_id"] if item["status"] == PUBLISHED and item.get("file") else None,
            "file": {k: item["file"][k] for k in ("name", "content_type", "size")} if item.get("file") else None,
            "tv": placements(item)}
    if with_review:
        view["review"] = item.get("review")
    return view


def placements(item: dict) -> list[dict]:
    """The item's broadcasts, by time."""
    return sorted((item.get("tv") or {}).values(), key=lambda p: (p["starts_at"], p["channel"]))


def may_read_usage(actor) -> None:
    if not isinstance(actor, dict) or actor.get("role") not in USAGE_READERS:
        raise Forbidden("usage statistics are for editors and supervision")


def _errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'item'}: {e['msg']}" for e in exc.errors()[:3])
