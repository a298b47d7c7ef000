"""What a 24-hour library kiosk publishes: the contract a kiosk vendor builds against.

Transport: AMQP 0-9-1 to RabbitMQ, exchange ``kiosk.events`` (topic, durable), routing key
``kiosk.<kiosk_id>.<kind>`` where kind is checkout, checkin, heartbeat, fault or inventory.
Each kiosk signs in as broker user ``kiosk-<kiosk_id>`` (made by ``suite kiosk add``), may
write only its own routing keys, and must set the message property ``user_id`` to its user
name (the broker refuses a message whose ``user_id`` is not the signed-in user; the library
trusts that, never the payload, for which kiosk spoke). Messages are persistent, JSON
(``content_type application/json``), published with publisher confirms.

The body is a CloudEvents 1.0 envelope: ``id`` unique per event (a replay reuses it),
``source`` ``/kiosks/<kiosk_id>``, ``type`` as below, ``time`` when it happened at the
kiosk, and the extension ``sequence``: a per-kiosk counter that only grows. Delivery is at
least once and in any order: the library ignores a duplicate or stale event.

Each message also carries the header ``partition-key`` (``partition_key``): the copy's
barcode for a checkout or a return, else the kiosk's id. The broker spreads kiosk events over
the library's partitions by it, so that each copy's events stay in one and in order. A message
without it is taken all the same (all such in one partition); one whose key is not its copy's
is dead-lettered.
"""
from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

EXCHANGE = "kiosk.events"
KIOSK_ID_PATTERN = r"^[A-Za-z0-9_-]{1,32}$"

Barcode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


def routing_key(kiosk_id: str, kind: str) -> str:
    return f"kiosk.{kiosk_id}.{kind}"


def broker_user(kiosk_id: str) -> str:
    return f"kiosk-{kiosk_id}"


class KioskCheckoutV1(BaseModel):
    """A patron borrowed an item at the kiosk (possibly while it was offline)."""
    TYPE: ClassVar[str] = "cn.library.kiosk.checkout.v1"
    KIND: ClassVar[str] = "checkout"
    ROUTING_KEY: ClassVar[str] = "kiosk.{kiosk_id}.checkout"
    model_config = ConfigDict(extra="forbid")

    barcode: Barcode
    card_number: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9]+$")


class KioskCheckinV1(BaseModel):
    """An item was returned into the kiosk."""
    TYPE: ClassVar[str] = "cn.library.kiosk.checkin.v1"
    KIND: ClassVar[str] = "checkin"
    ROUTING_KEY: ClassVar[str] = "kiosk.{kiosk_id}.checkin"
    model_config = ConfigDict(extra="forbid")

    barcode: Barcode


class KioskHeartbeatV1(BaseModel):
    """The kiosk is alive; it is marked offline after ``interval_seconds`` × 3 of silence."""
    TYPE: ClassVar[str] = "cn.library.kiosk.heartbeat.v1"
    KIND: ClassVar[str] = "heartbeat"
    ROUTING_KEY: ClassVar[str] = "kiosk.{kiosk_id}.heartbeat"
    model_config = ConfigDict(extra="forbid")

    interval_seconds: int = Field(ge=5, le=3600)
    buffered_events: int = Field(default=0, ge=0)
    firmware: str = Field(default="", max_length=64)


class KioskFaultReportV1(BaseModel):
    """The kiosk reports a fault (printer jam, door sensor, RFID reader...)."""
    TYPE: ClassVar[str] = "cn.library.kiosk.fault_report.v1"
    KIND: ClassVar[str] = "fault"
    ROUTING_KEY: ClassVar[str] = "kiosk.{kiosk_id}.fault"
    model_config = ConfigDict(extra="forbid")

    fault_code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Z0-9_]+$")
    description: str = Field(default="", max_length=2000)
    severity: Literal["minor", "major", "out_of_service"] = "major"


class KioskInventoryV1(BaseModel):
    """What the kiosk holds now (after a restock); up to 2,000 barcodes per message."""
    TYPE: ClassVar[str] = "cn.library.kiosk.inventory.v1"
    KIND: ClassVar[str] = "inventory"
    ROUTING_KEY: ClassVar[str] = "kiosk.{kiosk_id}.inventory"
    model_config = ConfigDict(extra="forbid")

    barcodes: list[Barcode] = Field(max_length=2000)


KIOSK_EVENTS = [KioskCheckoutV1, KioskCheckinV1, KioskHeartbeatV1, KioskFaultReportV1, KioskInventoryV1]
BY_KIND = {m.KIND: m for m in KIOSK_EVENTS}


PARTITION_HEADER = "partition-key"


def partition_key(kind: str, data: dict, kiosk_id: str) -> str:
    """What a kiosk message is partitioned by: its copy, or its kiosk (heartbeats, faults,
    inventories: no copy's order depends on them)."""
    return str(data.get("barcode") or kiosk_id) if kind in ("checkout", "checkin") else kiosk_id


def routing_key_pattern(kiosk_id: str) -> str:
    """The routing keys one kiosk may publish, exactly (a broker topic permission): its own
    id and a kind of this contract, nothing deeper (``kiosk.K-001.checkout.v2`` is not one)."""
    return f"^kiosk\\.{re.escape(kiosk_id)}\\.({'|'.join(BY_KIND)})$"
