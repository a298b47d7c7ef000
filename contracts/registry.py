"""Which model describes which event type and which RPC payload."""
from __future__ import annotations

from pydantic import BaseModel

from contracts.events.community import CASE_EVENTS, MoveDeclaredV1, ResidenceChangedV1, ResidentRegisteredV1
from contracts.events.elearning import ELEARNING_EVENTS
from contracts.events.interdistrict import INTERDISTRICT_EVENTS, SOURCE as INTERDISTRICT
from contracts.events.kiosk import KIOSK_EVENTS
from contracts.events.library import LIBRARY_EVENTS
from contracts.events.schoolbag import SCHOOLBAG_EVENTS
from contracts.events.wallet import WALLET_EVENTS
import importlib
import pkgutil

import contracts.rpc

# event type -> (publishing service, model of its data)
EVENTS: dict[str, tuple[str, type[BaseModel]]] = {
    m.TYPE: (service, m)
    for service, m in [
        ("community", ResidentRegisteredV1),
        ("community", ResidenceChangedV1),
        ("community", MoveDeclaredV1),
        *[("community", m) for m in CASE_EVENTS],
        *[("library", m) for m in LIBRARY_EVENTS],
        *[("kiosk", m) for m in KIOSK_EVENTS],
        *[("elearning", m) for m in ELEARNING_EVENTS],
        *[("elearning", m) for m in SCHOOLBAG_EVENTS],
        *[("elearning", m) for m in WALLET_EVENTS],
        *[(INTERDISTRICT, m) for m in INTERDISTRICT_EVENTS],
    ]
}

def _rpc_models() -> dict[str, type[BaseModel]]:
    """Every model in ``contracts/rpc/`` that names an RPC payload (a ``NAME``): found, not
    listed by hand, so a new one cannot be left out of the AsyncAPI document."""
    found: dict[str, type[BaseModel]] = {}
    for info in pkgutil.iter_modules(contracts.rpc.__path__):
        module = importlib.import_module(f"contracts.rpc.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__ == module.__name__ \
                    and isinstance(getattr(obj, "NAME", None), str):
                if obj.NAME in found:
                    raise RuntimeError(f"two RPC models are named {obj.NAME}")
                found[obj.NAME] = obj
    return found


RPCS: dict[str, type[BaseModel]] = _rpc_models()


class UnknownEventType(KeyError):
    pass


def event_model(event_type: str) -> type[BaseModel]:
    try:
        return EVENTS[event_type][1]
    except KeyError:
        raise UnknownEventType(f"unknown event type {event_type!r}") from None


def event_source(event_type: str) -> str:
    """The service that publishes ``event_type`` (its nameko event exchange)."""
    try:
        return EVENTS[event_type][0]
    except KeyError:
        raise UnknownEventType(f"unknown event type {event_type!r}") from None
