"""The community service's nameko entrypoints: thin wiring of rules to the store."""
from __future__ import annotations

from datetime import date

import pymongo

from contracts.events.community import ResidentRegisteredV1
from contracts.rpc.community import RegisterResidentV1
from services.common import outbox
from services.common.errors import BadInput, Conflict, NotFound
from services.common.health import HealthEntrypoints
from services.common.logs import Correlation
from services.common.outbox import OutboxRelay
from services.common.rpc import rpc
from services.common.storage import Store
from services.community import residents, store


class CommunityService(HealthEntrypoints):
    name = "community"

    db = Store(store.INDEXES)
    relay = OutboxRelay(store.OUTBOX_COLLECTIONS)
    correlation_id = Correlation()

    @rpc
    def register_resident(self, request: dict) -> dict:
        req = RegisterResidentV1.model_validate(request)
        for code in filter(None, (req.registered_committee, req.residence_committee)):
            if self.db[store.PLACES].find_one({"_id": code, "kind": "committee"}, {"_id": 1}) is None:
                raise BadInput(f"unknown committee code {code!r}")
        resident = residents.new_resident(req, date.today())
        event = outbox.event(ResidentRegisteredV1.TYPE, residents.registered_event_data(resident),
                             subject=resident["_id"])
        try:
            self.db[store.RESIDENTS].insert_one({**resident, **outbox.pending_fields([event])})
        except pymongo.errors.DuplicateKeyError:
            raise Conflict("a resident with this ID number is already registered") from None
        return residents.public_view(resident)

    @rpc
    def get_resident(self, resident_id: str) -> dict:
        doc = self.db[store.RESIDENTS].find_one({"_id": str(resident_id)})
        if doc is None:
            raise NotFound(f"no resident {resident_id}")
        return residents.public_view(doc)

    @rpc
    def find_resident(self, id_number: str) -> dict:
        """A desk looks a resident up by the ID number they present."""
        doc = self.db[store.RESIDENTS].find_one({"id_number": residents.normalise_id_number(str(id_number))})
        if doc is None:
            raise NotFound("no resident with this ID number")
        return residents.public_view(doc)

    @rpc
    def upsert_places(self, places: list[dict]) -> int:
        """Load sub-districts, committees and desks (idempotent by code)."""
        n = 0
        for place in places:
            code, kind = str(place.get("code", "")), place.get("kind")
            if not code or kind not in ("subdistrict", "committee", "desk"):
                raise BadInput(f"a place needs a code and a kind of subdistrict, committee or desk: {place!r}")
            self.db[store.PLACES].update_one(
                {"_id": code}, {"$set": {"kind": kind, "name": str(place.get("name", code)),
                                         "parent": place.get("parent")}}, upsert=True)
            n += 1
        return n
