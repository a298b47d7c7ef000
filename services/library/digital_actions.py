"""Digital resources' actions against the store: adding one (its file, its title, its licence
copies), borrowing, returning, holds, handing a returned copy on to the first in the queue, and
what a reader may open. Rules are in ``digital``; the RPCs and the HTTP door call these."""
from __future__ import annotations

import logging
import secrets
import uuid
from datetime import datetime
from urllib.parse import quote, urlencode

from pydantic import ValidationError
from pymongo.database import Database

from contracts.events.library import HoldReadyV1
from contracts.rpc.library import DigitalLicenceV1, TitleRecordV1
from services.common import clock, outbox
from services.common.errors import BadInput, Conflict, NotFound
from services.library import catalogue, circulation, digital, digital_store, holds_store, patrons_store, popsci_store

log = logging.getLogger(__name__)
ONLINE = "online"   # the pickup of a digital hold: none, it is read where the reader is


def add_resource(db: Database, record: dict, licence: dict, name: str, content_type: str, data: bytes,
                 max_bytes: int) -> dict:
    """A title (``TitleRecordV1``, no copies) with its file and licence. Everything is checked
    before anything is stored; a resource added again replaces its file and adds licence copies."""
    try:
        checked = TitleRecordV1.model_validate(record if isinstance(record, dict) else {})
        terms = DigitalLicenceV1.model_validate(licence if isinstance(licence, dict) else {})
    except ValidationError as exc:
        raise BadInput("; ".join(f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}"
                                 for e in exc.errors()[:3])) from None
    if checked.copies:
        raise BadInput("a digital resource has licence copies, not print copies")
    upload = digital.check_file(name, content_type, data, max_bytes)
    file_id = digital_store.put_file(db, checked.record_id, upload.name, upload.content_type, data, clock.now())
    stored = catalogue.store_records(db, [checked.model_dump()])
    if stored["rejected"]:   # not expected once validated; the file must not stay behind
        digital_store.delete_file(db, file_id)
        raise BadInput(stored["rejected"][0]["reason"])
    before = digital_store.set_digital(db, checked.record_id, digital.digital_fields(upload, terms, file_id))
    if before and before.get("digital"):
        digital_store.delete_file(db, before["digital"]["file_id"])
    if terms.model == digital.ONE_READER:
        digital_store.add_copies(db, checked.record_id, digital.copy_ids(checked.record_id, terms.copies))
    return resource(db, checked.record_id)


def resource(db: Database, title_id: str) -> dict:
    title = digital_store.title(db, title_id)
    if title is None:
        raise NotFound(f"no digital resource {title_id}")
    return {"resource_id": title["_id"], "title": title["title"], **digital.resource_view(title, digital_store.available(db, title))}


def borrow(db: Database, patron_id: str, title_id: str, max_loans: int = digital.MAX_LOANS) -> dict:
    title = digital_store.title(db, title_id)
    digital.may_borrow(title and title["digital"], patrons_store.find(db, patron_id))
    if digital_store.loan_of(db, title_id, patron_id):
        raise Conflict("you have borrowed this already")
    digital.within_cap(len(digital_store.loans_of(db, patron_id)), max_loans)
    if holds_store.others_waiting(db, digital.queue_of(title_id), except_patron=patron_id):
        raise Conflict("others are waiting for this resource: place a hold to join the queue")
    now = clock.now()
    copy = digital_store.lend_free(db, title_id, digital.new_loan(patron_id, now, title["digital"]["loan_days"],
                                                                  uuid.uuid4().hex))
    if copy is None:
        raise Conflict(f"all {title['digital']['copies']} licence copies are out: place a hold to join the queue")
    popsci_store.count_use(db, title, patron_id, borrows=1)
    return digital.loan_view(title, copy)


def give_back(db: Database, patron_id: str, title_id: str) -> dict:
    """The reader returns early; the copy goes on to the first in the queue."""
    copy = digital_store.loan_of(db, str(title_id), patron_id)
    if copy is None:
        raise NotFound("you have not borrowed this resource")
    title = digital_store.title(db, title_id)
    view = digital.loan_view(title, copy)
    if not _hand_on(db, title, copy, clock.now()):
        raise Conflict("this loan has just ended")
    return view


def return_due(db: Database, now: datetime) -> int:
    """The timer: every loan whose period is over returns itself, and goes on to the queue."""
    ended = 0
    for copy in digital_store.due_now(db, now):
        title = digital_store.title(db, copy["title_id"])
        if title is not None and copy.get("loan") and _hand_on(db, title, copy, now):
            ended += 1
    return ended


def _hand_on(db: Database, title: dict, copy: dict, now: datetime) -> bool:
    """End the copy's loan; lend it to the first waiting hold, with its notice in the copy's
    outbox (the copy is the truth, written first; the hold follows, as for print holds)."""
    if title["digital"]["licence"] != digital.ONE_READER:   # re-added under another licence: nothing to hand on
        return digital_store.hand_on(db, copy, None)
    hold = holds_store.first_waiting(db, digital.queue_of(title["_id"]))
    while hold is not None and digital_store.loan_of(db, title["_id"], hold["patron"]):
        holds_store.close(db, hold["_id"], "fulfilled")   # already holding a copy (a hand-on half done)
        hold = holds_store.first_waiting(db, digital.queue_of(title["_id"]))
    if hold is None:
        return digital_store.hand_on(db, copy, None)
    loan = digital.new_loan(hold["patron"], now, title["digital"]["loan_days"], uuid.uuid4().hex, hold["_id"])
    event = outbox.event(HoldReadyV1.TYPE, {
        "hold_id": hold["_id"], "title_id": title["_id"], "title": title["title"], "patron": hold["patron"],
        "pickup": ONLINE, "at": now, "barcode": copy["_id"], "expires": circulation.day_of(datetime.fromisoformat(loan["due"])),
        "digital": True}, subject=hold["_id"])
    if not digital_store.hand_on(db, copy, loan, [event]):
        return False
    holds_store.close(db, hold["_id"], "fulfilled")
    return True


def place_hold(db: Database, patron_id: str, title_id: str) -> dict:
    title = digital_store.title(db, title_id)
    digital.may_borrow(title and title["digital"], patrons_store.find(db, patron_id))
    if digital_store.loan_of(db, title_id, patron_id):
        raise Conflict("you have borrowed this already")
    if holds_store.current_on(db, patron_id, title_id, digital=True):
        raise Conflict("you are in the queue for this already")
    if digital_store.available(db, title) and not holds_store.others_waiting(db, digital.queue_of(title_id)):
        raise Conflict("a licence copy is free: borrow it now")
    now = clock.now()
    hold = {"_id": uuid.uuid4().hex, "patron": patron_id, "title_id": title_id, "pickup": ONLINE,
            "status": "waiting", "placed_at": now.isoformat(), "queue": digital.queue_of(title_id),
            "queue_key": f"{now.isoformat()}|{uuid.uuid4().hex[:8]}", "digital": True}
    holds_store.add(db, hold)
    return {**circulation.hold_view(hold, holds_store.position(db, hold)), "title": title["title"]}


def shelf(db: Database, patron_id: str) -> dict:
    """A reader's digital loans and waiting holds."""
    loans = []
    for copy in digital_store.loans_of(db, patron_id):
        title = digital_store.title(db, copy["title_id"])
        if title:
            loans.append(digital.loan_view(title, copy))
    holds = []
    for hold in holds_store.current_of(db, patron_id, 100):
        if hold.get("digital"):
            holds.append({**circulation.hold_view(hold, holds_store.position(db, hold)),
                          "title": catalogue.title_name_now(db, hold["title_id"])})
    return {"loans": loans, "holds": holds}


# ---- reading ------------------------------------------------------------------------------

def link_key(db: Database) -> bytes:
    return digital_store.link_key(db, lambda: secrets.token_hex(32))


def check_reader(db: Database, title: dict, reader: str) -> None:
    """Forbidden unless ``reader`` (a resident id, or ``anyone`` for open resources) may read it now."""
    lent = title["digital"]["licence"] == digital.ONE_READER
    digital.may_read(title["digital"], reader, patrons_store.find(db, reader) is not None if reader else False,
                     lent and digital_store.loan_of(db, title["_id"], reader) is not None)


def open_link(db: Database, reader: str, title_id: str, base_url: str) -> dict:
    """A signed link to the file for this reader, if they may read it now."""
    title = digital_store.title(db, str(title_id))
    if title is None:
        raise NotFound(f"no digital resource {title_id}")
    check_reader(db, title, reader)
    signed = digital.sign(link_key(db), title["_id"], reader, clock.now())
    return {"url": f"{base_url}/digital/v1/{quote(title['_id'])}?{urlencode(signed)}",
            "expires_at": datetime.fromtimestamp(signed["expires"], tz=clock.now().tzinfo).isoformat(),
            "content_type": title["digital"]["content_type"], "size": title["digital"]["size"]}
