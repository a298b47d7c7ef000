"""Cases handed on between districts (收受分离 across districts): the contract two districts'
suites speak, one accepting a case at a resident's residence desk, the other handling it where
the resident is registered (docs/ARCHITECTURE.md, "Across districts").

Transport: AMQP 0-9-1. The sending district's community service publishes through its outbox
to the exchange ``interdistrict.out`` (direct, durable) with the receiving district's code
(GB/T 2260, six digits) as routing key; a durable queue per linked district
(``interdistrict.to.<code>``) holds them, and a RabbitMQ Shovel carries them, acknowledged
only once the other broker confirmed them, to that district's exchange ``interdistrict.in``
(topic, durable) with the *sending* district's code as routing key. Messages are persistent
CloudEvents 1.0 envelopes in JSON (``source`` ``interdistrict``; ``from_district`` names the sender).

Delivery is at least once and, through one shovel, in order. A receiver absorbs a copy: a
forwarded case is keyed by the sending district and its case id, a reply by the case id and
its ``seq`` (a reply not newer than the last one applied changes nothing). A message from a
district that is not linked, for a case that is not there, or that does not fit this
contract is dead-lettered with its reason (``dlq.community``) and changes nothing.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

SOURCE = "interdistrict"            # the registry's publisher name of these events
OUT_EXCHANGE = "interdistrict.out"
IN_EXCHANGE = "interdistrict.in"
DISTRICT_PATTERN = r"^\d{6}$"

DistrictCode = Annotated[str, Field(pattern=DISTRICT_PATTERN, description="administrative division code (GB/T 2260)")]


def link_queue(district: str) -> str:
    """The sending district's queue of what waits for ``district`` (the shovel's source)."""
    return f"interdistrict.to.{district}"


class ForwardedResidentV1(BaseModel):
    """Who the case is for, as the handling district needs them to find the registration:
    the registration district keeps the household register, so it is told the ID number."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    resident_id: str = Field(min_length=1, max_length=64, description="the resident's id in the sending district")
    name: str = Field(min_length=1, max_length=100)
    id_number: str = Field(pattern=r"^\d{17}[\dX]$")
    phone: str | None = Field(default=None, pattern=r"^1\d{10}$")
    residence_address: str | None = Field(default=None, max_length=200, description="where they live (the sender's district)")


class CaseForwardedV1(BaseModel):
    """A case accepted at a residence desk of ``from_district`` for a matter handled where the
    resident is registered, in ``to_district``: that district makes it a case of its
    committee ``handling_committee`` and answers with ``CaseRepliedV1``."""

    TYPE: ClassVar[str] = "cn.interdistrict.case.forwarded.v1"
    EXCHANGE: ClassVar[str] = OUT_EXCHANGE
    ROUTING_KEY: ClassVar[str] = "{to_district}"
    model_config = ConfigDict(extra="forbid")

    from_district: DistrictCode
    to_district: DistrictCode
    case_id: str = Field(min_length=1, max_length=64, description="the case in the sending district: replies name it")
    case_number: str = Field(min_length=1, max_length=64)
    matter_code: str = Field(min_length=1, max_length=64)
    matter_name: str = Field(min_length=1, max_length=200)
    promised_days: int = Field(ge=0, le=365)
    handling_committee: str = Field(min_length=1, max_length=32, description="the registration committee there")
    resident: ForwardedResidentV1
    materials: list[str] = Field(default_factory=list, max_length=50)
    accepting_desk: str = Field(min_length=1, max_length=64)
    accepted_on: date
    note: str | None = Field(default=None, max_length=2000)


Reply = Literal["accepted", "needs_materials", "done", "refused"]


class CaseRepliedV1(BaseModel):
    """The handling district's word on a forwarded case: accepted (受理, its clock runs there),
    needs materials (补正), done (办结) or refused (不予受理). ``seq`` grows with each reply of
    one case; the accepting district applies a reply only if it is newer than the last."""

    TYPE: ClassVar[str] = "cn.interdistrict.case.replied.v1"
    EXCHANGE: ClassVar[str] = OUT_EXCHANGE
    ROUTING_KEY: ClassVar[str] = "{to_district}"
    model_config = ConfigDict(extra="forbid")

    from_district: DistrictCode
    to_district: DistrictCode
    case_id: str = Field(min_length=1, max_length=64, description="the case in the district that forwarded it")
    seq: int = Field(ge=1, description="this reply's place among the case's replies")
    reply: Reply
    remote_case_number: str | None = Field(default=None, max_length=64, description="the case's number there")
    deadline: date | None = Field(default=None, description="the promised day there (its working-day calendar)")
    missing_materials: list[str] = Field(default_factory=list, max_length=50)
    note: str | None = Field(default=None, max_length=2000, description="the reason of a refusal, a clerk's note")


class MaterialsHandedInV1(BaseModel):
    """The materials the handling district asked for (``needs_materials``) were handed in at
    the accepting desk: the handling district's case resumes (its clock with it) and replies
    as usual. Names of the materials, not their files."""

    TYPE: ClassVar[str] = "cn.interdistrict.case.supplemented.v1"
    EXCHANGE: ClassVar[str] = OUT_EXCHANGE
    ROUTING_KEY: ClassVar[str] = "{to_district}"
    model_config = ConfigDict(extra="forbid")

    from_district: DistrictCode
    to_district: DistrictCode
    case_id: str = Field(min_length=1, max_length=64, description="the case in the sending (accepting) district")
    materials: list[str] = Field(default_factory=list, max_length=50)
    note: str | None = Field(default=None, max_length=2000)


INTERDISTRICT_EVENTS = [CaseForwardedV1, CaseRepliedV1, MaterialsHandedInV1]
TYPES = frozenset(m.TYPE for m in INTERDISTRICT_EVENTS)
