"""Which model describes which event type and which RPC payload."""
from __future__ import annotations

from pydantic import BaseModel

from contracts.events.community import CASE_EVENTS, ResidenceChangedV1, ResidentRegisteredV1
from contracts.events.elearning import ELEARNING_EVENTS
from contracts.events.kiosk import KIOSK_EVENTS
from contracts.events.library import LIBRARY_EVENTS
from contracts.events.schoolbag import SCHOOLBAG_EVENTS
from contracts.events.wallet import WALLET_EVENTS
from contracts.rpc.common import HealthReportV1
from contracts.rpc.community import (ActorV1, CaseActionV1, ChangeResidenceV1, MatterV1, PlaceV1,
                                    RegisterResidentV1, ResidentV1, SubmitCaseV1)
from contracts.rpc.elearning import CourseV1, ProgressReportV1
from contracts.rpc.library import LocationV1, PatronV1, TitleRecordV1

# event type -> (publishing service, model of its data)
EVENTS: dict[str, tuple[str, type[BaseModel]]] = {
    m.TYPE: (service, m)
    for service, m in [
        ("community", ResidentRegisteredV1),
        ("community", ResidenceChangedV1),
        *[("community", m) for m in CASE_EVENTS],
        *[("library", m) for m in LIBRARY_EVENTS],
        *[("kiosk", m) for m in KIOSK_EVENTS],
        *[("elearning", m) for m in ELEARNING_EVENTS],
        *[("elearning", m) for m in SCHOOLBAG_EVENTS],
        *[("elearning", m) for m in WALLET_EVENTS],
    ]
}

RPCS: dict[str, type[BaseModel]] = {
    m.NAME: m for m in [HealthReportV1, RegisterResidentV1, ResidentV1, PlaceV1, MatterV1, ActorV1, SubmitCaseV1,
                        CaseActionV1, ChangeResidenceV1, PatronV1, LocationV1, TitleRecordV1, CourseV1,
                        ProgressReportV1]
}


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
