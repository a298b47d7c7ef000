"""The elearning service's nameko entrypoints."""
from __future__ import annotations

from services.common.health import HealthEntrypoints
from services.common.logs import Correlation
from services.common.outbox import OutboxRelay
from services.common.storage import Store
from services.elearning import store


class ElearningService(HealthEntrypoints):
    name = "elearning"

    db = Store(store.INDEXES)
    relay = OutboxRelay(store.OUTBOX_COLLECTIONS)
    correlation_id = Correlation()
