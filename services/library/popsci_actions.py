"""Popular-science sharing against the store: providers' credentials, uploads (pending review),
an editor's review (publishing makes a catalogue title and, with a file, a digital resource),
placements on TV (an event in the item's outbox), the published list, and the usage
statistics. Rules are in ``popsci``; the RPCs and the providers' HTTP door call these."""
from __future__ import annotations

import uuid
from urllib.parse import urlencode

from eventlet import tpool
from pymongo.database import Database

from contracts.events.library import PopsciTvScheduledV1
from contracts.rpc.library import DigitalLicenceV1
from contracts.rpc.popsci import AUDIENCES, UsageStatisticsV1
from services.common import clock, outbox, passwords
from services.common.errors import BadInput, Conflict, NotFound
from services.library import catalogue, digital, digital_actions, digital_store, popsci, popsci_store

# ---- providers ----------------------------------------------------------------------------


def add_provider(db: Database, provider_id: str, name: str, key_hash: str, replace: bool = False) -> dict:
    """A provider's credential (``key_hash``: made by the caller from the key it shows once,
    so the key crosses no broker)."""
    provider_id, name = popsci.check_provider_id(provider_id), popsci.check_name(name)
    passwords.parse_hash(key_hash)
    if not popsci_store.add_provider(db, provider_id, name, key_hash, clock.now(), bool(replace)):
        raise Conflict(f"provider {provider_id} exists: give it a new key (--replace), or revoke it")
    return {"provider_id": provider_id, "name": name}


def revoke_provider(db: Database, provider_id: str) -> bool:
    return popsci_store.revoke_provider(db, popsci.check_provider_id(provider_id), clock.now())


def signed_in_provider(db: Database, provider_id, key) -> dict:
    """The provider whose id and key these are; Forbidden otherwise (the same scrypt work
    whether the provider exists or not)."""
    found = popsci_store.provider(db, provider_id) if isinstance(provider_id, str) and \
        popsci.PROVIDER_ID.match(provider_id) else None
    record = (found or {}).get("key_hash") or passwords.dummy_record()
    key = key if isinstance(key, str) and popsci.KEY.match(key) else ""
    ok = tpool.execute(passwords.matches, key, record) if key else False   # an OS thread: green threads run on
    return popsci.may_upload(found, ok and bool((found or {}).get("key_hash")))


# ---- uploads ------------------------------------------------------------------------------

def upload(db: Database, provider: dict, item, name: str | None, content_type: str | None, data: bytes | None,
           max_bytes: int) -> dict:
    """A provider's item, pending review. Everything is checked before anything is stored."""
    checked = popsci.checked_item(item)
    file = None
    if data:
        up = digital.check_file(name, content_type, data, max_bytes)
        popsci.check_file_kind(checked, True, up.content_type)
        file = {"name": up.name, "content_type": up.content_type, "kind": up.kind, "size": up.size}
    else:
        popsci.check_file_kind(checked, False, None)
    item_id = "ps-" + uuid.uuid4().hex[:16]
    if file:
        file["file_id"] = digital_store.put_file(db, item_id, file["name"], file["content_type"], data, clock.now())
    doc = popsci.new_item(item_id, provider, checked, file, clock.now())
    popsci_store.insert_item(db, doc)
    return popsci.item_view(doc)


def provider_item(db: Database, provider: dict, item_id: str) -> dict:
    """A provider reads its own item (its status, an editor's reason); another's is not found."""
    found = popsci_store.item(db, str(item_id))
    if found is None or found["provider"] != provider["_id"]:
        raise NotFound(f"you have no item {item_id}")
    return popsci.item_view(found)


# ---- review -------------------------------------------------------------------------------

def queue(db: Database, actor, status: str, limit: int) -> list[dict]:
    popsci.may_review(actor, {"status": popsci.PENDING})
    if status not in (popsci.PENDING, popsci.PUBLISHED, popsci.REJECTED):
        raise BadInput("status is pending, published or rejected")
    return [popsci.item_view(i) for i in popsci_store.items_by_status(db, status, limit)]


def review(db: Database, actor, item_id: str, decision) -> dict:
    """An editor publishes (the item becomes a catalogue title, with its file a digital
    resource readable by its licence) or rejects with a reason (its file is deleted)."""
    item = popsci_store.item(db, str(item_id))
    if item is None:
        raise NotFound(f"no item {item_id}")
    popsci.may_review(actor, item)
    checked = popsci.checked_review(decision)
    record = {"by": actor["id"], "at": clock.now().isoformat(), "decision": checked.decision,
              "reason": checked.reason}
    if checked.decision == "reject":
        if not popsci_store.decide(db, item["_id"], popsci.REJECTED, record):
            raise Conflict("another editor decided on this item first")
        if item.get("file"):
            digital_store.delete_file(db, item["file"]["file_id"])
        return popsci.item_view(popsci_store.item(db, item["_id"]))
    _publish(db, item)
    if not popsci_store.decide(db, item["_id"], popsci.PUBLISHED, record):
        raise Conflict("another editor decided on this item first")
    return popsci.item_view(popsci_store.item(db, item["_id"]))


def _publish(db: Database, item: dict) -> None:
    """The catalogue's title (written before the item is marked published: a crash between
    leaves a pending item whose title is written again on the next review)."""
    stored = catalogue.store_records(db, [popsci.title_record(item)])
    if stored["rejected"]:
        raise BadInput(stored["rejected"][0]["reason"])
    f = item.get("file")
    if f:
        licence = DigitalLicenceV1.model_validate(item["item"]["licence"])
        upload = digital.Upload(f["name"], f["content_type"], f["kind"], f["size"])
        digital_store.set_digital(db, item["_id"], digital.digital_fields(upload, licence, f["file_id"]))
        if licence.model == digital.ONE_READER:
            digital_store.add_copies(db, item["_id"], digital.copy_ids(item["_id"], licence.copies))
    popsci_store.mark_title(db, item["_id"], {"provider": item["provider"], "kind": item["item"]["kind"]})


def preview_link(db: Database, actor, item_id: str, base_url: str) -> dict:
    """A link for an editor to see or play an item's file before deciding (signed as the
    library signs readers' links, for this editor and this item alone, the same 30 minutes)."""
    item = popsci_store.item(db, str(item_id))
    if item is None:
        raise NotFound(f"no item {item_id}")
    popsci.may_preview(actor, item)
    signed = digital.sign(digital_actions.link_key(db), popsci.preview_resource(item["_id"]),
                          popsci.preview_reader(actor), clock.now())
    return {"url": f"{base_url}/popsci/v1/preview/{item['_id']}?{urlencode(signed)}",
            "content_type": item["file"]["content_type"], "size": item["file"]["size"]}


def previewed_file(db: Database, item_id: str, reader, expires, sig) -> dict:
    """The file of an item whose preview link this is; Forbidden for any other link."""
    digital.verify(digital_actions.link_key(db), popsci.preview_resource(item_id), reader, expires, sig, clock.now())
    item = popsci_store.item(db, item_id)
    if item is None or not item.get("file") or item["status"] == popsci.REJECTED:
        raise NotFound("this item has no file (any more)")
    return item["file"]


def place_on_tv(db: Database, actor, item_id: str, placement) -> dict:
    item = popsci_store.item(db, str(item_id))
    if item is None:
        raise NotFound(f"no item {item_id}")
    checked = popsci.checked_placement(actor, item, placement)
    minutes = item["item"]["tv_minutes"]
    slot = {"channel": checked.channel, "starts_at": checked.starts_at, "minutes": minutes, "by": actor["id"],
            "at": clock.now().isoformat()}
    if any(p["channel"] == slot["channel"] and p["starts_at"] == slot["starts_at"] for p in popsci.placements(item)):
        raise Conflict("this item is already on that channel at that time")
    event = outbox.event(PopsciTvScheduledV1.TYPE, PopsciTvScheduledV1(
        item_id=item["_id"], resource_id=item["_id"], title=item["item"]["title"],
        provider_name=item["provider_name"], channel=checked.channel, starts_at=checked.starts_at,
        minutes=minutes).model_dump(mode="json"), subject=item["_id"])
    popsci_store.add_placement(db, item["_id"], slot, event)
    return popsci.item_view(popsci_store.item(db, item["_id"]))


def published(db: Database, audience: str | None, limit: int) -> list[dict]:
    """What residents find in the learning section, newest uploads last as the queue kept them."""
    if audience is not None and audience not in AUDIENCES:
        raise BadInput(f"audience is one of {', '.join(AUDIENCES)}")
    items = popsci_store.items_by_status(db, popsci.PUBLISHED, 500)
    shown = [popsci.item_view(i, with_review=False) for i in items
             if audience is None or audience in i["item"]["audience"] or "everyone" in i["item"]["audience"]]
    return shown[-limit:][::-1]


# ---- usage --------------------------------------------------------------------------------

def usage_statistics(db: Database, actor, provider_id: str | None = None) -> dict:
    """Per resource and per provider: borrows, plays (signed-link fetches from the first byte),
    unique readers (``UsageStatisticsV1``)."""
    popsci.may_read_usage(actor)
    if provider_id is not None:
        popsci.check_provider_id(provider_id)
    resources = [{"resource_id": u["_id"], "title": u.get("title", ""), "kind": u.get("media", ""),
                  "provider_id": u.get("provider"), "borrows": u.get("borrows", 0), "plays": u.get("plays", 0),
                  "unique_readers": u.get("unique_readers", 0)}
                 for u in popsci_store.usage(db, "resource", provider_id)]
    counted = {u["provider"]: u for u in popsci_store.usage(db, "provider", provider_id)}
    providers = []
    for p in popsci_store.providers(db):
        if provider_id and p["_id"] != provider_id:
            continue
        statuses = [i["status"] for i in popsci_store.items_of(db, p["_id"])]
        u = counted.get(p["_id"], {})
        providers.append({"provider_id": p["_id"], "name": p["name"], "published": statuses.count(popsci.PUBLISHED),
                          "pending": statuses.count(popsci.PENDING), "borrows": u.get("borrows", 0),
                          "plays": u.get("plays", 0), "unique_readers": u.get("unique_readers", 0)})
    resources.sort(key=lambda r: (-r["plays"], -r["borrows"], r["resource_id"]))
    providers.sort(key=lambda p: p["provider_id"])
    return UsageStatisticsV1(at=clock.now(), resources=resources, providers=providers).model_dump(mode="json")
