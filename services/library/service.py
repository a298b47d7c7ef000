"""The library service's nameko entrypoints."""
from __future__ import annotations

import logging

from contracts.events.community import ResidentRegisteredV1
from services.common.errors import BadInput, NotFound
from services.common.health import HealthEntrypoints
from services.common.inbox import Applied, apply_once, inbox_handler
from services.common.logs import Correlation
from services.common.outbox import OutboxRelay
from services.common.rpc import rpc
from services.common.storage import Store
from services.library import patrons, store

log = logging.getLogger(__name__)


class LibraryService(HealthEntrypoints):
    name = "library"

    db = Store(store.INDEXES)
    relay = OutboxRelay(store.OUTBOX_COLLECTIONS)
    correlation_id = Correlation()

    @inbox_handler(ResidentRegisteredV1.TYPE)
    def on_resident_registered(self, event: dict) -> None:
        data = event["data"]
        outcome = apply_once(self.db[store.PATRONS], {"_id": data["resident_id"]},
                             {"$setOnInsert": patrons.patron_from_registration(data)},
                             event["id"], upsert=True)
        log.info("resident registered: patron %s", outcome.value,
                 extra={"event_id": event["id"], "duplicate": outcome is Applied.DUPLICATE})

    @rpc
    def get_patrons(self, resident_ids: list[str]) -> list[dict]:
        """Batch read for the gateway: the cards of these residents that exist."""
        if not isinstance(resident_ids, list) or len(resident_ids) > 500:
            raise BadInput("expected a list of at most 500 resident ids")
        ids = [str(i) for i in resident_ids]
        found = {d["_id"]: d for d in self.db[store.PATRONS].find({"_id": {"$in": ids}})}
        return [patrons.public_view(found[i]) for i in ids if i in found]

    @rpc
    def get_patron(self, resident_id: str) -> dict:
        doc = self.db[store.PATRONS].find_one({"_id": str(resident_id)})
        if doc is None:
            raise NotFound(f"no library card for resident {resident_id}")
        return patrons.public_view(doc)
