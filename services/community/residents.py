"""Rules about residents, free of I/O: identity numbers, masking, the registered event."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from contracts.events.community import ResidentRegisteredV1
from contracts.rpc.community import MOVE_AHEAD_DAYS, RegisterResidentV1, ResidentV1
from services.common.errors import BadInput


def normalise_id_number(raw: str) -> str:
    """The 18-digit resident ID, checksum and birth date checked (upper-case X)."""
    try:
        return ric.validate(raw)
    except StdnumError as exc:
        raise BadInput(f"invalid resident ID number: {exc}") from None


def mask_id_number(id_number: str) -> str:
    """First 3 and last 4 digits only: the first six would reveal the place of registration."""
    return id_number[:3] + "*" * (len(id_number) - 7) + id_number[-4:]


RESIDENT_IDS = uuid.UUID("5b0f3c52-8a55-4c53-9d1e-6f1f2c7a9e41")


def resident_id_for(request_key: str | None, row: int = 0) -> str:
    """The id of the resident registered by row ``row`` of the RPC request ``request_key``:
    the same for a copy of that request, so the copy can tell its own registration from
    someone else's with the same ID number; random without a key."""
    return uuid.uuid5(RESIDENT_IDS, f"{request_key}/{row}").hex if request_key else uuid.uuid4().hex


def new_resident(request: RegisterResidentV1, today: date, resident_id: str) -> dict:
    """The resident document for a registration (residence kept as history)."""
    return {
        "_id": resident_id,
        "id_number": normalise_id_number(request.id_number),
        "name": request.name,
        "phone": request.phone,
        "registered_committee": request.registered_committee,
        "registered_outside_district": request.registered_committee is None,
        # registered in another district: where that district's matters go (``jurisdiction``)
        **({"registered_district": request.registered_district, "registered_place": request.registered_place}
           if request.registered_district else {}),
        "residence": {"committee": request.residence_committee, "address": request.address,
                      "since": today.isoformat()},
        "residence_history": [],
        "registered_on": today.isoformat(),
    } | _away_keys_of(request, resident_id)


def registered_event_data(resident: dict) -> ResidentRegisteredV1:
    return ResidentRegisteredV1(
        resident_id=resident["_id"],
        name=resident["name"],
        registered_committee=resident["registered_committee"],
        registered_outside_district=resident["registered_outside_district"],
        residence_committee=resident["residence"]["committee"],
        registered_on=resident["registered_on"],
    )


def mask_phone(phone: str | None) -> str | None:
    """First 3 and last 4 digits: enough for its owner to recognise it."""
    return phone[:3] + "****" + phone[-4:] if phone else None


def public_view(resident: dict) -> dict:
    return ResidentV1(
        resident_id=resident["_id"],
        id_number_masked=mask_id_number(resident["id_number"]),
        phone_masked=mask_phone(resident.get("phone")),
        name=resident["name"],
        registered_committee=resident["registered_committee"],
        registered_outside_district=resident["registered_outside_district"],
        residence_committee=resident["residence"]["committee"],
        registered_district=resident.get("registered_district"),
    ).model_dump()


def moved(resident: dict, committee: str, address: str, moved_on: date, today: date) -> dict:
    """The resident after a move: the old residence goes into the history, never lost. A move
    is not dated ahead (``MOVE_AHEAD_DAYS``: a day's leeway for time zones): a mistyped year would refuse every
    true move after it as dated before the current residence began."""
    current = resident["residence"]
    if moved_on > today + timedelta(days=MOVE_AHEAD_DAYS):
        raise BadInput(f"a move cannot be dated in the future ({moved_on.isoformat()})")
    if moved_on.isoformat() < current["since"]:
        raise BadInput(f"a move cannot be dated before the current residence began ({current['since']})")
    if committee == current["committee"] and address == current["address"]:
        raise BadInput("that is the current residence already")
    new = dict(resident)
    new["residence"] = {"committee": committee, "address": address, "since": moved_on.isoformat()}
    new["residence_history"] = list(resident.get("residence_history", [])) + [
        {**current, "until": moved_on.isoformat()}]
    return new


# ---- the committees' 人户分离 lists (``services/community/moves.py``) ---------------------------

AWAY_KEYS = ("living_here_key", "registered_here_key")


def away_keys(resident: dict) -> dict[str, str | None]:
    """The list keys of a resident as they live now (None: not on that list)."""
    registered, residence = resident.get("registered_committee"), resident["residence"]["committee"]
    away = registered != residence
    tail = f"{resident['name']}|{resident['_id']}"
    return {"living_here_key": f"{residence}|{tail}" if away else None,
            "registered_here_key": f"{registered}|{tail}" if away and registered else None}


def with_away_keys(resident: dict) -> dict:
    """The resident with its list keys set (and those that no longer apply removed)."""
    out = dict(resident)
    for key, value in away_keys(resident).items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def _away_keys_of(request: RegisterResidentV1, resident_id: str) -> dict:
    keys = away_keys({"_id": resident_id, "name": request.name, "registered_committee": request.registered_committee,
                      "residence": {"committee": request.residence_committee}})
    return {k: v for k, v in keys.items() if v is not None}
