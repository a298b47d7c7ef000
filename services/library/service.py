"""The library service's nameko entrypoints: thin wiring of rules to the store."""
from __future__ import annotations

import logging

from nameko.dependency_providers import Config
from nameko.timer import timer

from contracts.events.community import ResidenceChangedV1, ResidentRegisteredV1
from contracts.events.kiosk import KIOSK_EVENTS
from contracts.rpc.library import (CONFLICT_STATUSES, ConflictFiltersV1, ConflictResolutionV1, LibraryOverviewPartsV1,
                                   LocationV1)
from services.common import clock, overview
from services.common.arguments import batch, checked_resident_id, checked_text, day_or_today, id_list, page_limit
from services.common.errors import BadInput, NotFound
from services.common.health import HealthEntrypoints
from services.common.inbox import Applied, inbox_handler
from services.common.logs import Correlation
from services.common.metrics import Metrics, Tally
from services.common.outbox import OutboxRelay
from services.common.rpc import rpc
from services.common.storage import Store
from services.common.tracing import Tracing
from services.library import (actions, catalogue, circulation, conflicts, conflicts_store, copies_store, digital_actions,
                              holds_store,
                              kiosk_batch, kiosk_events, kiosks, kiosks_store, loan_rules_store, locations_store, patron_actions,
                              patrons, patrons_store, policy, reads, store)
from services.library.digital_rpc import DigitalEntrypoints
from services.library.popsci_rpc import PopsciEntrypoints
from services.library.kiosk_inbox import kiosk_handler
from services.library.reports_rpc import ReportEntrypoints
from services.library.sip2.accounts import Sip2AccountRpc
from services.library.sip2.server import Sip2Server

log = logging.getLogger(__name__)


class LibraryService(HealthEntrypoints, Sip2AccountRpc, DigitalEntrypoints, PopsciEntrypoints, ReportEntrypoints):
    name = "library"
    config = Config()

    db = Store(store.INDEXES, builds=(catalogue.build_keys, store.rekey_watch_fields, conflicts_store.key_pages))
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
        card = patrons.card_number(patrons_store.card_serials.next(self.db))
        outcome = patrons_store.add_once(self.db, data["resident_id"], patrons.patron_from_registration(data, card),
                                         event["id"])
        log.info("resident registered: patron %s", outcome.value,
                 extra={"event_id": event["id"], "duplicate": outcome is Applied.DUPLICATE})

    @inbox_handler(ResidenceChangedV1.TYPE)
    def on_residence_changed(self, event: dict) -> None:
        """A patron's home committee follows their residence; a move older than the one
        recorded changes nothing (moves may arrive out of order)."""
        data = event["data"]
        patron = patrons_store.home_since(self.db, data["resident_id"])
        if patron is None:
            raise LookupError("no patron yet for this resident (its registration may still be on its way)")
        update = patrons.home_move(patron.get("home_since"), data["to_committee"], str(data["moved_on"]))
        if patrons_store.move_home(self.db, data["resident_id"], patron.get("home_since"), update,
                                   event["id"]) is Applied.MISSING:
            raise LookupError("the patron changed meanwhile; retrying")

    @rpc
    def get_patrons(self, resident_ids: list[str]) -> list[dict]:
        """Batch read: the cards of these residents that exist."""
        return reads.cards(self.db, id_list(resident_ids))

    @rpc
    def resident_overview(self, resident_id: str, parts: dict) -> dict:
        """One call for the gateway's ``me``: the parts asked (``LibraryOverviewPartsV1``),
        each as its single-purpose RPC computes it; a part that fails fails alone
        (``services.common.overview``)."""
        rid = checked_resident_id(resident_id)
        return overview.answer(overview.asked(parts, LibraryOverviewPartsV1), {
            "card": lambda: next(iter(reads.cards(self.db, [rid])), None),
            "circulation": lambda: reads.loans_and_holds(self.db, [rid])[rid]})

    @rpc
    def get_patron(self, resident_id: str) -> dict:
        return patrons.public_view(patrons_store.by_id(self.db, resident_id))

    @rpc
    def block_patron(self, resident_id: str, reason: str, by: str) -> dict:
        return {"block_id": patron_actions.block_patron(self.db, resident_id=checked_resident_id(resident_id),
                                                        reason=reason, by=checked_text(by, "by", 128))}

    @rpc
    def unblock_patron(self, resident_id: str, block_id: str) -> None:
        patron_actions.unblock_patron(self.db, resident_id=str(resident_id), block_id=block_id)

    @rpc
    def set_patron_pin(self, resident_id: str, pin: str, by: str) -> dict:
        """A patron's PIN for self-check machines: set by the resident (gateway, ``by`` their
        id) or by staff at a desk (``by`` their login). Stored hashed, never logged."""
        return patron_actions.set_pin(self.db, resident_id=checked_resident_id(resident_id), pin=pin,
                                      by=checked_text(by, "by", 128))

    @rpc
    def set_patron_type(self, resident_id: str, patron_type: str, by: str) -> dict:
        """Staff set a patron's type, one the loan rules know (``patron_types``); audited."""
        return patron_actions.set_patron_type(self.db, resident_id=str(resident_id), patron_type=str(patron_type),
                                              by=by)

    @rpc
    def loan_rules(self) -> list[dict]:
        """Every rule in force, defaults first, each with its name (operator rules) or 'default'."""
        return policy.rules_view(loan_rules_store.named(self.db))

    @rpc
    def put_loan_rules(self, rules: dict) -> list[str]:
        """An operator adds or replaces named rules (the most specific matching rule wins; among
        equals, the later name)."""
        return loan_rules_store.put(self.db, policy.checked_rules(rules))

    @rpc
    def patron_types(self) -> list[str]:
        return list(reads.known_patron_types(self.db))

    @rpc
    def patron_audit(self, resident_id: str) -> list[dict]:
        """Who changed what on a patron (PIN set, patron type), oldest first."""
        return patrons.audit_view(patrons_store.by_id(self.db, resident_id))

    # ---- catalogue --------------------------------------------------------------------

    @rpc
    def upsert_locations(self, locations: list[dict]) -> int:
        checked = [LocationV1.model_validate(loc) for loc in batch(locations, "locations")]   # all before any is stored
        locations_store.put(self.db, checked)
        return len(checked)

    @rpc
    def list_locations(self) -> list[dict]:
        """The libraries, branches and kiosks, each saying whether holds are collected there."""
        return [circulation.location_view(loc) for loc in locations_store.every(self.db)]

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
        copy = actions.checkout(self.db, barcode=str(barcode), patron=patrons_store.by_id(self.db, resident_id),
                                location_code=str(location), source=str(source)[:100])
        return reads.titled(self.db, circulation.loan_view(copy))

    @rpc
    def checkin(self, barcode: str, location: str, source: str = "desk") -> dict:
        copy, ended = actions.checkin(self.db, barcode=str(barcode), location_code=str(location),
                                      source=str(source)[:100])
        return circulation.checkin_view(copy, ended)

    @rpc
    def renew(self, resident_id: str, barcode: str) -> dict:
        return reads.titled(self.db, circulation.loan_view(actions.renew(
            self.db, barcode=str(barcode), patron=patrons_store.by_id(self.db, resident_id), source="gateway")))

    @rpc
    def place_hold(self, resident_id: str, title_id: str, pickup: str) -> dict:
        hold = actions.place_hold(self.db, patron=patrons_store.by_id(self.db, resident_id),
                                  title_id=str(title_id), pickup=str(pickup))
        return reads.titled(self.db, circulation.hold_view(hold, holds_store.position(self.db, hold)))

    @rpc
    def cancel_hold(self, resident_id: str, hold_id: str) -> dict:
        hold = actions.cancel_hold(self.db, patron=patrons_store.by_id(self.db, resident_id), hold_id=str(hold_id))
        return reads.titled(self.db, circulation.hold_view(hold, None))

    @rpc
    def declare_lost(self, barcode: str, resident_id: str | None = None) -> dict:
        return reads.titled(self.db, circulation.loan_view(actions.declare_lost(
            self.db, barcode=barcode, patron_id=str(resident_id) if resident_id else None)))

    @rpc
    def claim_returned(self, barcode: str, resident_id: str) -> dict:
        return reads.titled(self.db, circulation.loan_view(actions.claim_returned(self.db, barcode=barcode,
                                                                                  patron_id=str(resident_id))))

    @rpc
    def loans_and_holds(self, resident_ids: list[str]) -> dict:
        """Batch read: {resident_id: {loans, holds}} in one call."""
        return reads.loans_and_holds(self.db, id_list(resident_ids))

    @rpc
    def conflicts(self, status: str = "open", after: str | None = None, limit: int = 50,
                  filters: dict | None = None) -> dict:
        """What kiosks and machines did that could not be applied, for staff: a page of one
        status, oldest first, with ``filters`` (``ConflictFiltersV1``: kind, location, a range
        of days); ``next`` is the cursor of the next page (None at the end). Every conflict is
        reached page by page, however many there are; a page holds at most 200."""
        if status not in CONFLICT_STATUSES:   # a misspelt status listed nothing, as if all were settled
            raise BadInput("status is open or resolved")
        checked = ConflictFiltersV1.model_validate(filters or {})
        if checked.location and not locations_store.find(self.db, checked.location) \
                and not kiosks_store.find(self.db, checked.location):   # else an empty page, as if all were well
            raise NotFound(f"no library location or kiosk {checked.location}")
        found, cursor = conflicts_store.page(self.db, conflicts.page_range(status, checked),
                                             checked_text(after, "after", 300) if after else None,
                                             page_limit(limit, 200))
        return {"conflicts": [conflicts.view(c) for c in found], "next": cursor}

    @rpc
    def conflict(self, conflict_id: str) -> dict:
        """One conflict with both sides: the event that could not be applied and the copy's
        loans around it (from its loan history and its current loan), cards masked."""
        return reads.conflict_detail(self.db, checked_text(conflict_id, "conflict_id", 300))

    @rpc
    def resolve_conflict(self, conflict_id: str, resolution: dict) -> dict:
        """Staff settle an open conflict (``ConflictResolutionV1``: what they did, a note of
        what they found, who they are): who, when, what and the note are kept (audited)."""
        checked = ConflictResolutionV1.model_validate(resolution if isinstance(resolution, dict) else {})
        conflict_id = checked_text(conflict_id, "conflict_id", 300)
        conflicts_store.resolve(self.db, conflict_id, checked.action, checked.note, checked.by, clock.now())
        return reads.conflict_detail(self.db, conflict_id)

    @rpc
    def loan_history(self, resident_id: str, limit: int = 50) -> list[dict]:
        """A patron's ended loans, the latest returned first, each with its title."""
        rid = checked_resident_id(resident_id)
        return reads.history(self.db, rid, page_limit(limit, 500))

    @timer(interval=60)
    def circulation_timers(self):
        self.run_timers_now()

    @rpc
    def run_timers_now(self, today: str | None = None) -> dict:
        day = day_or_today(today)
        return {"overdue": actions.raise_overdue(self.db, day), "expired_holds": actions.expire_holds(self.db, day),
                "offline_kiosks": kiosk_events.mark_silent(self.db, clock.now()),
                "digital_returned": digital_actions.return_due(self.db, clock.now()),
                "loans_to_history": sum(copies_store.flush_history(self.db, barcode)
                                        for barcode in copies_store.with_pending_history(self.db))}

    # ---- kiosks -----------------------------------------------------------------------

    @kiosk_handler("kiosk.*.*", accept=tuple(m.TYPE for m in KIOSK_EVENTS))
    def on_kiosk_event(self, events: list[dict]) -> list:
        return kiosk_batch.apply(self.db, events)

    @rpc
    def kiosk_status(self) -> list[dict]:
        """Each kiosk's health: heard from lately, its open faults, its events' outcomes, and
        how many of its conflicts are open."""
        open_conflicts = conflicts_store.open_by_kiosk(self.db)
        return [kiosks.status_view(k, open_conflicts.get(k["_id"], 0)) for k in kiosks_store.listed(self.db)]

    @rpc
    def clear_kiosk_fault(self, kiosk_id: str, fault_code: str, by: str) -> dict:
        """Staff mark a fault repaired: the next report of it opens a new maintenance case."""
        code = str(fault_code)
        if not kiosks.FAULT_CODE.match(code):
            raise BadInput("a fault code is upper-case letters, digits and '_'")
        if not kiosks_store.clear_fault(self.db, str(kiosk_id), code, str(by)[:64], clock.now()):
            raise NotFound(f"kiosk {kiosk_id} has no open fault {code}")
        return {"kiosk_id": str(kiosk_id), "cleared": code}
