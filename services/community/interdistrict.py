"""Cases across districts (收受分离 across districts), free of I/O: what goes out when a
case is forwarded, the case the handling district makes of it, and which of its steps are
replied (the contract: ``contracts/events/interdistrict.py``; the case's own life and clock:
``cases``).

The accepting district keeps the one case the resident sees; the handling district's case is
a copy keyed by (sending district, case id), so a forward carried twice makes one case.
Its replies carry the case's version there as ``seq``: the accepting district applies only
a newer one (``cases.remote_reply``), so a copy or a late reply changes nothing.
"""
from __future__ import annotations

import uuid

from contracts.events.interdistrict import CaseForwardedV1, CaseRepliedV1, MaterialsHandedInV1

FORWARDED_CASES = uuid.UUID("0b9d6c1e-2f4a-4e8b-9c3d-7a5e1f2b8c40")   # namespace of the copies' ids
FOREIGN = "district:"    # a resident id of another district's resident, as its cases here name them


def foreign_resident_id(district: str, resident_id: str) -> str:
    return f"{FOREIGN}{district}:{resident_id}"


def is_foreign(resident_id: str) -> bool:
    """A resident of another district: their notices go out there, not to an inbox here."""
    return str(resident_id).startswith(FOREIGN)


def forwarded_data(case: dict, resident: dict, from_district: str, desk: str) -> dict:
    """``CaseForwardedV1`` data for a case this district forwards (status ``forwarded``)."""
    return CaseForwardedV1(
        from_district=from_district, to_district=case["handling_district"], case_id=case["_id"],
        case_number=case["number"], matter_code=case["matter_code"], matter_name=case["matter_name"],
        promised_days=case["promised_days"], handling_committee=case["handling_committee"],
        resident={"resident_id": resident["_id"], "name": resident["name"], "id_number": resident["id_number"],
                  "phone": resident.get("phone"), "residence_address": resident["residence"].get("address")},
        materials=case["materials"], accepting_desk=desk, accepted_on=case["accepted_on"],
        note=case["trail"][0].get("note")).model_dump(mode="json")


def supplemented_data(case: dict, from_district: str, extra: dict) -> dict:
    """``MaterialsHandedInV1`` data: the materials handed in here for a forwarded case."""
    return MaterialsHandedInV1(from_district=from_district, to_district=case["handling_district"],
                              case_id=case["_id"], materials=extra.get("materials") or [],
                              note=case["trail"][-1].get("note")).model_dump(mode="json")


def copy_id(from_district: str, case_id: str) -> str:
    """The id of the handling district's case for ``case_id`` of ``from_district``."""
    return uuid.uuid5(FORWARDED_CASES, f"{from_district}/{case_id}").hex


def copy_parts(data: dict) -> tuple[dict, dict, dict]:
    """(matter, resident, origin) of the case to make of a forward: the matter as the sender
    described it (its name and promised days: the same catalogue need not be loaded here), the
    resident known by the sender's id, and where it came from."""
    matter = {"_id": data["matter_code"], "name": data["matter_name"], "jurisdiction": "REGISTRATION",
              "promised_days": data["promised_days"]}
    person = data["resident"]
    resident = {"_id": foreign_resident_id(data["from_district"], person["resident_id"]), "name": person["name"]}
    origin = {"origin_district": data["from_district"], "origin_case": data["case_id"],
              "origin_number": data["case_number"], "origin_resident": person}
    return matter, resident, origin


REPLIES = {"accepted": "accepted", "in_progress": "accepted", "supplement_required": "needs_materials",
           "completed": "done", "rejected": "refused"}


def reply_for(before: dict, after: dict, from_district: str) -> dict | None:
    """``CaseRepliedV1`` data for a step of a forwarded case that changed its status (None for
    other steps, and for starting work: the other district already heard it was accepted)."""
    if not after.get("origin_district") or before["status"] == after["status"]:
        return None
    reply = REPLIES.get(after["status"])
    if reply is None or (after["status"] == "in_progress" and before["status"] == "accepted"):
        return None
    return CaseRepliedV1(
        from_district=from_district, to_district=after["origin_district"], case_id=after["origin_case"],
        seq=after["version"], reply=reply, remote_case_number=after["number"], deadline=after.get("deadline"),
        missing_materials=after["missing_materials"] if reply == "needs_materials" else [],
        note=after["trail"][-1].get("note")).model_dump(mode="json")


def refusal(data: dict, from_district: str, reason: str) -> dict:
    """A refusal of a forward this district cannot take as a case (no such committee here)."""
    return CaseRepliedV1(from_district=from_district, to_district=data["from_district"], case_id=data["case_id"],
                         seq=1, reply="refused", note=reason).model_dump(mode="json")


def sender_problem(data: dict, routing_key: str, own: str, linked: set[str] | dict) -> str | None:
    """Why a message on ``interdistrict.in`` may not be taken (None: it may): the shovel of a
    linked district sets the routing key to that district's code, and the message must say the
    same and be meant for this district."""
    sender = data.get("from_district")
    if sender not in linked:
        return f"district {sender!r} is not linked to this district ({own}): LINKED_DISTRICTS names " \
               f"{', '.join(sorted(linked)) or 'none'}"
    if routing_key != sender:
        return f"routing key {routing_key!r} is not the sending district {sender!r} (a link sets it)"
    if data.get("to_district") != own:
        return f"meant for district {data.get('to_district')!r}, this is {own}"
    return None
