"""The library service's nameko entrypoints: thin wiring of rules to the store."""
from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timezone

from nameko.timer import timer
from pymongo import ReturnDocument

from contracts.events.community import ResidenceChangedV1, ResidentRegisteredV1
from contracts.events.kiosk import KIOSK_EVENTS, KioskCheckinV1, KioskCheckoutV1, KioskFaultReportV1, KioskHeartbeatV1, KioskInventoryV1
from contracts.events.library import KioskFaultV1
from contracts.rpc.library import LibraryOverviewPartsV1
from services.common import outbox, overview
from services.common.arguments import checked_resident_id, checked_text, day_or_today, page_limit
from services.common.errors import BadInput, NotFound
from services.common.health import HealthEntrypoints
from services.common.deadletter import first_delivery
from services.common.inbox import Applied, InboxEventHandler, apply_once, inbox_handler
from services.common.logs import Correlation
from services.common.tracing import Tracing
from services.common.metrics import Metrics, Tally
from services.common.outbox import OutboxRelay
from services.common.rpc import rpc
from services.common.storage import Store
from services.library import actions, catalogue, circulation, kiosks, patrons, policy, reference, store
from services.library.sip2.accounts import Sip2AccountRpc
from services.library.sip2.server import Sip2Server

log = logging.getLogger(__name__)
MAX_BATCH = 500


class KioskEventHandler(InboxEventHandler):
    """One queue for every kiosk's events, each checked against the broker-validated
    ``user_id`` before anything is applied. One library process at a time takes them (the
    broker's single active consumer; the others stand by): a copy's events taken by two
    processes at once were applied out of order (a spurious conflict, once a wrong end
    state, in the benchmark). Within the process, ``kiosks.item_lock`` orders each copy's."""

    queue_arguments = {"x-single-active-consumer": True}

    def check_sender(self, message, event):
        _, routing_key, user_id = first_delivery(message)
        problem = kiosks.sender_problem(routing_key, user_id, event["source"])
        if problem:
            raise ValueError(problem)


kiosk_handler = KioskEventHandler.decorator


def _ids(items) -> list[str]:
    if not isinstance(items, list) or len(items) > MAX_BATCH:
        raise BadInput(f"expected a list of at most {MAX_BATCH} ids")
    return [str(i) for i in items]


class LibraryService(HealthEntrypoints, Sip2AccountRpc):
    name = "library"

    db = Store(store.INDEXES, builds=(catalogue.build_keys, store.rekey_watch_fields))
    relay = OutboxRelay(store.OUTBOX_COLLECTIONS)
    correlation_id = Correlation()
    tracing = Tracing()
    sip2 = Sip2Server()
    metrics = Metrics(Tally(store.KIOSKS, {"status": "online"}, by="status", gauges={
        "online": ("suite_library_kiosks_online", "Kiosks whose status is online (heard from lately)")}))

    # ---- patrons ----------------------------------------------------------------------

    @inbox_handler(ResidentRegisteredV1.TYPE)
    def on_resident_registered(self, event: dict) -> None:
        data = event["data"]
        # One write: a patron already there (a redelivery, or registered before) keeps its
        # card, and the serial taken for it is simply never used.
        card = patrons.card_number(store.card_serials.next(self.db))
        outcome = apply_once(self.db[store.PATRONS], {"_id": data["resident_id"]},
                             {"$setOnInsert": patrons.patron_from_registration(data, card)},
                             event["id"], upsert=True)
        log.info("resident registered: patron %s", outcome.value,
                 extra={"event_id": event["id"], "duplicate": outcome is Applied.DUPLICATE})

    @inbox_handler(ResidenceChangedV1.TYPE)
    def on_residence_changed(self, event: dict) -> None:
        """A patron's home committee follows their residence; a move older than the one
        recorded changes nothing (moves may arrive out of order)."""
        data = event["data"]
        patron = self.db[store.PATRONS].find_one({"_id": data["resident_id"]}, {"home_since": 1})
        if patron is None:
            raise LookupError("no patron yet for this resident (its registration may still be on its way)")
        moved_on = str(data["moved_on"])
        update = {"$set": {"home_committee": data["to_committee"], "home_since": moved_on}} \
            if moved_on >= str(patron.get("home_since") or "") else {}
        outcome = apply_once(self.db[store.PATRONS],
                             {"_id": data["resident_id"], "home_since": patron.get("home_since")}, update,
                             event["id"])
        if outcome is Applied.MISSING:
            raise LookupError("the patron changed meanwhile; retrying")

    @rpc
    def get_patrons(self, resident_ids: list[str]) -> list[dict]:
        """Batch read: the cards of these residents that exist."""
        return self._cards(_ids(resident_ids))

    @rpc
    def resident_overview(self, resident_id: str, parts: dict) -> dict:
        """One call for the gateway's ``me``: the parts asked (``LibraryOverviewPartsV1``),
        each as its single-purpose RPC computes it; a part that fails fails alone
        (``services.common.overview``)."""
        rid = checked_resident_id(resident_id)
        return overview.answer(overview.asked(parts, LibraryOverviewPartsV1), {
            "card": lambda: next(iter(self._cards([rid])), None),
            "circulation": lambda: self._circulation([rid])[rid]})

    def _cards(self, ids: list[str]) -> list[dict]:
        found = {d["_id"]: d for d in self.db[store.PATRONS].find({"_id": {"$in": ids}})}
        return [patrons.public_view(found[i]) for i in ids if i in found]

    @rpc
    def get_patron(self, resident_id: str) -> dict:
        return patrons.public_view(actions.patron_by_id(self.db, resident_id))

    @rpc
    def block_patron(self, resident_id: str, reason: str, by: str) -> dict:
        return {"block_id": actions.block_patron(self.db, resident_id=checked_resident_id(resident_id), reason=reason,
                                                 by=checked_text(by, "by", 128))}

    @rpc
    def unblock_patron(self, resident_id: str, block_id: str) -> None:
        actions.unblock_patron(self.db, resident_id=str(resident_id), block_id=block_id)

    @rpc
    def set_patron_pin(self, resident_id: str, pin: str, by: str) -> dict:
        """A patron's PIN for self-check machines: set by the resident (gateway, ``by`` their
        id) or by staff at a desk (``by`` their login). Stored hashed, never logged."""
        return actions.set_pin(self.db, resident_id=checked_resident_id(resident_id), pin=pin,
                               by=checked_text(by, "by", 128))

    @rpc
    def set_patron_type(self, resident_id: str, patron_type: str, by: str) -> dict:
        """Staff set a patron's type, one the loan rules know (``patron_types``); audited."""
        return actions.set_patron_type(self.db, resident_id=str(resident_id), patron_type=str(patron_type), by=by)

    @rpc
    def loan_rules(self) -> list[dict]:
        """Every rule in force, defaults first, each with its name (operator rules) or 'default'."""
        named = {r["_id"]: r for r in self.db[actions.LOAN_RULES].find().sort("_id")}
        out = [{"name": "default", **dataclasses.asdict(r)} for r in policy.DEFAULT_RULES]
        return out + [{"name": name, **dataclasses.asdict(policy.LoanRule(**{k: v for k, v in r.items() if k != "_id"}))}
                      for name, r in named.items()]

    @rpc
    def put_loan_rules(self, rules: dict) -> list[str]:
        """An operator adds or replaces named rules (the most specific matching rule wins; among
        equals, the later name)."""
        return actions.put_loan_rules(self.db, rules)

    @rpc
    def patron_types(self) -> list[str]:
        return list(actions.known_patron_types(self.db))

    @rpc
    def patron_audit(self, resident_id: str) -> list[dict]:
        """Who changed what on a patron (PIN set, patron type), oldest first."""
        audit = actions.patron_by_id(self.db, resident_id).get("audit") or {}
        return [audit[k] for k in sorted(audit)]

    # ---- catalogue --------------------------------------------------------------------

    @rpc
    def upsert_locations(self, locations: list[dict]) -> int:
        from contracts.rpc.library import LocationV1
        if not isinstance(locations, list) or len(locations) > MAX_BATCH:
            raise BadInput(f"expected a list of at most {MAX_BATCH} locations")
        checked = [LocationV1.model_validate(loc) for loc in locations]   # all checked before any is stored
        for loc in checked:
            self.db[store.LOCATIONS].update_one({"_id": loc.code}, {"$set": loc.model_dump(exclude={"code"})},
                                                upsert=True)
        reference.forget(self.db, store.LOCATIONS)
        return len(checked)

    @rpc
    def import_catalogue(self, records: list[dict]) -> dict:
        """Titles with their copies, idempotent by record id; each record whole or rejected."""
        return catalogue.store_records(self.db, records)

    @rpc
    def search(self, text: str | None = None, isbn: str | None = None, limit: int = 20) -> list[dict]:
        if not all(v is None or isinstance(v, str) for v in (text, isbn)):
            raise BadInput("search by text or an ISBN, given as text")
        return catalogue.search(self.db, text=text, isbn=isbn, limit=page_limit(limit, 50))

    # ---- circulation ------------------------------------------------------------------

    @rpc
    def checkout(self, barcode: str, resident_id: str, location: str, source: str = "desk") -> dict:
        copy = actions.checkout(self.db, barcode=str(barcode), patron=actions.patron_by_id(self.db, resident_id),
                                location_code=str(location), source=str(source)[:100])
        return _loan_view(copy)

    @rpc
    def checkin(self, barcode: str, location: str, source: str = "desk") -> dict:
        copy, ended = actions.checkin(self.db, barcode=str(barcode), location_code=str(location),
                                      source=str(source)[:100])
        return {"barcode": copy["_id"], "status": copy["status"], "location": copy["location"],
                "ended_loan": ended["loan_id"] if ended else None,
                "hold_for": (copy.get("hold") or {}).get("pickup")}

    @rpc
    def renew(self, resident_id: str, barcode: str) -> dict:
        return _loan_view(actions.renew(self.db, barcode=str(barcode),
                                        patron=actions.patron_by_id(self.db, resident_id), source="gateway"))

    @rpc
    def place_hold(self, resident_id: str, title_id: str, pickup: str) -> dict:
        hold = actions.place_hold(self.db, patron=actions.patron_by_id(self.db, resident_id),
                                  title_id=str(title_id), pickup=str(pickup))
        return _hold_view(hold, actions.hold_position(self.db, hold))

    @rpc
    def cancel_hold(self, resident_id: str, hold_id: str) -> dict:
        hold = actions.cancel_hold(self.db, patron=actions.patron_by_id(self.db, resident_id), hold_id=str(hold_id))
        return _hold_view(hold, None)

    @rpc
    def declare_lost(self, barcode: str, resident_id: str | None = None) -> dict:
        copy = actions.copy_by_barcode(self.db, barcode)
        new = circulation.declare_lost(copy, str(resident_id) if resident_id else None)
        store.save_copy(self.db, copy, new)
        return _loan_view(new)

    @rpc
    def claim_returned(self, barcode: str, resident_id: str) -> dict:
        copy = actions.copy_by_barcode(self.db, barcode)
        new = circulation.claim_returned(copy, str(resident_id))
        store.save_copy(self.db, copy, new)
        return _loan_view(new)

    @rpc
    def loans_and_holds(self, resident_ids: list[str]) -> dict:
        """Batch read: {resident_id: {loans, holds}} in one call."""
        return self._circulation(_ids(resident_ids))

    def _circulation(self, rids: list[str]) -> dict:
        out = {}
        for rid in rids:
            loans = [_loan_view(c) for c in actions.loans_of(self.db, rid)]
            # current holds only, chosen by the store: a patron's past holds must not crowd them out
            holds = [_hold_view(h, actions.hold_position(self.db, h)) for h in self.db[store.HOLDS].find(
                {"patron": rid, "status": {"$in": list(circulation.CURRENT_HOLDS)}}).limit(100)]
            out[rid] = {"loans": loans, "holds": holds}
        # titles by _id in one query (fast on every store), so no caller asks per item
        title_ids = list({item["title_id"] for v in out.values() for item in v["loans"] + v["holds"]})
        names = {t["_id"]: t["title"] for t in self.db[store.TITLES].find({"_id": {"$in": title_ids}}, {"title": 1})}
        for v in out.values():
            for item in v["loans"] + v["holds"]:
                item["title"] = names.get(item["title_id"], "")
        return out

    @rpc
    def conflicts(self, status: str = "open", limit: int = 50) -> list[dict]:
        if status not in ("open", "resolved"):   # a misspelt status listed nothing, as if all were settled
            raise BadInput("status is open or resolved")
        return [{k: v for k, v in c.items() if k not in outbox.FIELDS}
                for c in self.db[store.CONFLICTS].find({"status": status}).limit(page_limit(limit, 200))]

    @timer(interval=60)
    def circulation_timers(self):
        self.run_timers_now()

    @rpc
    def run_timers_now(self, today: str | None = None) -> dict:
        day = day_or_today(today)
        return {"overdue": actions.raise_overdue(self.db, day), "expired_holds": actions.expire_holds(self.db, day),
                "offline_kiosks": self._mark_silent_kiosks()}

    # ---- kiosks -----------------------------------------------------------------------

    @kiosk_handler("kiosk.*.*", accept=tuple(m.TYPE for m in KIOSK_EVENTS))
    def on_kiosk_event(self, event: dict) -> None:
        kiosk_id = event["source"].rsplit("/", 1)[-1]
        at = datetime.fromisoformat(event["time"])
        kiosk = self._seen(kiosk_id, at, event)
        kind = event["type"]
        if kind == KioskCheckoutV1.TYPE:
            self._kiosk_checkout(kiosk, event, at)
        elif kind == KioskCheckinV1.TYPE:
            self._kiosk_checkin(kiosk, event, at)
        elif kind == KioskFaultReportV1.TYPE:
            self._kiosk_fault(kiosk, event, at)
        elif kind == KioskInventoryV1.TYPE:
            for barcode in event["data"]["barcodes"]:
                self.db[store.COPIES].update_one({"_id": barcode, "status": circulation.AVAILABLE},
                                                 {"$set": {"location": kiosk_id}})

    @rpc
    def kiosk_status(self) -> list[dict]:
        return [{"kiosk_id": k["_id"], "status": k.get("status", "offline"), "last_seen": k.get("last_seen"),
                 "fault": k.get("fault"), "open_faults": kiosks.open_faults_view(k), "committee": k.get("committee")}
                for k in self.db[store.KIOSKS].find().sort("_id").limit(1000)]

    @rpc
    def clear_kiosk_fault(self, kiosk_id: str, fault_code: str, by: str) -> dict:
        """Staff mark a fault repaired: the next report of it opens a new maintenance case."""
        code = str(fault_code)
        if not kiosks.FAULT_CODE.match(code):
            raise BadInput("a fault code is upper-case letters, digits and '_'")
        result = self.db[store.KIOSKS].update_one({"_id": str(kiosk_id), f"open_faults.{code}": {"$exists": True}},
                                                  {"$unset": {f"open_faults.{code}": ""},
                                                   "$set": {"last_repair": {"code": code, "by": str(by)[:64],
                                                            "at": datetime.now(timezone.utc).isoformat()}}})
        if result.matched_count == 0:
            raise NotFound(f"kiosk {kiosk_id} has no open fault {code}")
        return {"kiosk_id": str(kiosk_id), "cleared": code}

    # ---- helpers ----------------------------------------------------------------------

    def _seen(self, kiosk_id: str, at: datetime, event: dict) -> dict:
        """Heartbeats (and any event) keep the kiosk's status; the newest time wins. Loans
        and returns of a busy kiosk skip it when this process wrote it lately."""
        if event["type"] not in (KioskHeartbeatV1.TYPE, KioskFaultReportV1.TYPE) \
                and not kiosks.recently_seen.due(kiosk_id):
            return {"_id": kiosk_id}
        interval = event["data"].get("interval_seconds") if event["type"] == KioskHeartbeatV1.TYPE else None
        update = {"$max": {"last_seen": at.astimezone(timezone.utc).isoformat()},
                  "$set": {"status": "online"}}
        if interval:
            update["$set"]["interval_seconds"] = interval
        kiosk = self.db[store.KIOSKS].find_one_and_update(
            {"_id": kiosk_id}, update, {"open_faults": 1, "interval_seconds": 1}, upsert=True,
            return_document=ReturnDocument.AFTER)
        kiosks.recently_seen.wrote(kiosk_id, kiosk.get("interval_seconds"))
        return kiosk

    def _kiosk_checkout(self, kiosk: dict, event: dict, at: datetime) -> None:
        data = event["data"]
        with kiosks.item_lock(data["barcode"]):
            copy = self.db[store.COPIES].find_one({"_id": data["barcode"]})
            if copy is None:
                self._conflict(kiosk["_id"], data["barcode"], "unknown barcode checked out", event, at)
                return
            if event["id"] in (copy.get("inbox") or []):
                return  # applied already
            if kiosks.is_stale(at, copy.get("state_at")):
                # older than the item's last change: applying it would undo newer facts. Kept for
                # staff; settled at once if a later check-in already ended that loan
                ended = kiosks.checked_in_since(at, copy.get("checked_in_at"))
                self._conflict(kiosk["_id"], copy["_id"], "checked out at the kiosk before the item's last "
                               "recorded change: not applied", event, at, kind="stale_checkout",
                               settled="a later check-in ended this loan" if ended else None)
                return
            patron = self.db[store.PATRONS].find_one({"card_number": data["card_number"]})
            if patron is None:
                self._conflict(kiosk["_id"], copy["_id"], f"unknown card {data['card_number']}", event, at)
                return
            if copy["status"] == circulation.ON_LOAN and copy["loan"]["patron"] != patron["_id"]:
                # The kiosk lent it after the current loan began: that loan's return has not
                # reached us yet (or was never scanned). Close it as of then and lend it; staff
                # see the implied return until the real one arrives.
                actions.lend_after_implied_return(self.db, copy=copy, patron=patron, location_code=kiosk["_id"],
                                                  at=at, source=f"kiosk:{kiosk['_id']}", applied_event=event["id"])
                self._conflict(kiosk["_id"], copy["_id"], "lent at the kiosk while on loan to another patron: "
                               "that loan was closed as returned; waiting for its return event", event, at,
                               kind="implied_return")
                return
            try:
                actions.checkout(self.db, barcode=copy["_id"], patron=patron, location_code=kiosk["_id"], at=at,
                                 source=f"kiosk:{kiosk['_id']}", copy=copy, honour_policy=False,
                                 applied_event=event["id"])
            except circulation.Refused as exc:
                if exc.code != "already_yours":
                    self._conflict(kiosk["_id"], copy["_id"], str(exc), event, at)

    def _kiosk_checkin(self, kiosk: dict, event: dict, at: datetime) -> None:
        barcode = event["data"]["barcode"]
        with kiosks.item_lock(barcode):
            copy = self.db[store.COPIES].find_one({"_id": barcode})
            if copy is None:
                self._conflict(kiosk["_id"], barcode, "unknown barcode returned", event, at)
                return
            if event["id"] in (copy.get("inbox") or []):
                return
            if kiosks.is_stale(at, copy.get("state_at")):
                # a return that a later checkout already implied, or that ends a late checkout:
                # the staff notes are settled, and the check-in is remembered for late checkouts
                actions.note_late_checkin(self.db, barcode, at, f"return event {event['id']}")
                return
            actions.checkin(self.db, barcode=barcode, location_code=kiosk["_id"], at=at,
                            source=f"kiosk:{kiosk['_id']}", copy=copy, applied_event=event["id"])

    def _kiosk_fault(self, kiosk: dict, event: dict, at: datetime) -> None:
        """A new fault opens one maintenance case (the fault event); the same fault reported
        again while it is open (a jammed printer reports every minute) only counts the report."""
        data = event["data"]
        code = data["fault_code"]
        if code not in (kiosk.get("open_faults") or {}):
            loc = self.db[store.LOCATIONS].find_one({"_id": kiosk["_id"]}) or {}
            fault = outbox.event(KioskFaultV1.TYPE, {
                "kiosk_id": kiosk["_id"], "kiosk_name": loc.get("name", ""),
                "committee": loc.get("committee") or "unknown", "fault_code": code,
                "description": data.get("description", ""), "reported_at": at}, subject=kiosk["_id"])
            fault["id"] = f"fault-{event['id']}"  # once per reported fault, whatever the redeliveries
            outcome = apply_once(self.db[store.KIOSKS], {"_id": kiosk["_id"], f"open_faults.{code}": {"$exists": False}},
                                 kiosks.open_fault(data, at, fault), event["id"])
            if outcome is not Applied.MISSING:
                return
        # open already (or opened meanwhile by another report): count it
        outcome = apply_once(self.db[store.KIOSKS], {"_id": kiosk["_id"]}, kiosks.repeated_fault(code, at),
                             event["id"])
        if outcome is Applied.MISSING:
            raise LookupError(f"kiosk {kiosk['_id']} vanished while its fault was recorded")

    def _conflict(self, kiosk_id: str, barcode: str, reason: str, event: dict, at: datetime,
                  kind: str = "unresolved", settled: str | None = None) -> None:
        """Kept for staff, never dropped; once per event (its id is the conflict's id)."""
        actions.record_conflict(self.db, where=kiosk_id, barcode=barcode, reason=reason, event=event, at=at,
                                kind=kind, settled=settled)

    def _mark_silent_kiosks(self) -> int:
        now = datetime.now(timezone.utc)
        marked = 0
        for k in self.db[store.KIOSKS].find({"status": "online"}).limit(1000):
            if kiosks.is_offline(k.get("last_seen"), int(k.get("interval_seconds") or kiosks.DEFAULT_INTERVAL), now):
                self.db[store.KIOSKS].update_one({"_id": k["_id"], "last_seen": k.get("last_seen")},
                                                 {"$set": {"status": "offline"}})
                marked += 1
        return marked


def _loan_view(copy: dict) -> dict:
    loan = copy.get("loan") or {}
    return {"barcode": copy["_id"], "title_id": copy["title_id"], "status": copy["status"],
            "location": copy["location"], "loan_id": loan.get("loan_id"), "patron": loan.get("patron"),
            "due": loan.get("due"), "renewals": loan.get("renewals"), "loaned_at": loan.get("loaned_at")}


def _hold_view(hold: dict, position: int | None) -> dict:
    return {"hold_id": hold["_id"], "title_id": hold["title_id"], "pickup": hold["pickup"], "status": hold["status"],
            "placed_at": hold["placed_at"], "position": position, "barcode": hold.get("barcode"),
            "expires": hold.get("expires")}
