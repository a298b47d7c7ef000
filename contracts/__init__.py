"""Every message and RPC payload that crosses a service boundary.

One pydantic v2 model per event's ``data`` and per RPC payload. Event types are
versioned in their name (``cn.community.resident.registered.v1``); a breaking change
is a new type, never an edit of a published one.
"""
from contracts.envelope import CloudEvent, new_event
from contracts.registry import EVENTS, RPCS, event_model

__all__ = ["CloudEvent", "new_event", "EVENTS", "RPCS", "event_model"]
