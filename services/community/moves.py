"""Moves of residence (人户分离), free of I/O: a resident's declaration, a clerk's confirmation,
a move recorded at a desk, the history that keeps each one, and the two committees' lists.

    declared (portal) ──confirmed by a clerk of the new residence committee──▶ the residence changes
    recorded at a desk (any desk: 全区通办) ─────────────────────────────────▶ the residence changes

A resident has at most one declaration waiting (``pending_move``); a confirmation moves it into
``moves`` (newest last) with who declared and who confirmed it, and the old residence into
``residence_history`` as before. No proof upload in this slice: the clerk sees the proof at
the desk or on a visit before confirming.

The committees' lists are ranges of one indexed key each (docs/ARCHITECTURE.md, The store):
``living_here_key`` ("living here, registered elsewhere": the residence committee's list) and
``registered_here_key`` ("registered here, living elsewhere": the registration committee's), set
only while the resident lives away from their registration, by the same write as the move.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime

from services.common.errors import BadInput, Conflict, Forbidden
from services.community import residents
from services.community.cases import Actor



def new_move_id() -> str:
    return uuid.uuid4().hex


def declaration(resident: dict, committee: str, address: str, moved_on: date, who: Actor, now: datetime,
                today: date, move_id: str) -> dict:
    """The declaration a resident makes of their new residence (``pending_move``); refused
    when one is waiting already, or when the move itself would be refused on confirmation."""
    if who.role not in ("resident", "guardian") or who.id != resident["_id"]:
        raise Forbidden("residents declare their own new residence")
    if resident.get("pending_move"):
        raise Conflict("您已申报过新的居住地，正在等待居住地社区确认；确认或退回之前不能再次申报。"
                       " (A declaration is already waiting for confirmation.)")
    residents.moved(resident, committee, address, moved_on, today)   # the same checks now as on confirmation
    return {"move_id": move_id, "from_committee": resident["residence"]["committee"], "to_committee": committee,
            "address": address, "moved_on": moved_on.isoformat(), "declared_by": who.id,
            "declared_by_role": who.role, "declared_at": now.isoformat()}


def pending_key(resident: dict, pending: dict) -> str:
    """Where the declaration waits: the new residence committee's list, oldest first."""
    return f"{pending['to_committee']}|{pending['declared_at']}|{resident['_id']}"


def may_confirm(pending: dict, who: Actor) -> bool:
    return who.role in ("admin", "system") or (who.role == "staff" and who.committee == pending["to_committee"])


def confirmed(resident: dict, who: Actor, now: datetime, today: date, move_id: str | None = None) -> dict:
    """The resident once a clerk of the declared committee confirmed the declaration."""
    pending = resident.get("pending_move")
    if not pending or (move_id and pending["move_id"] != move_id):
        raise Conflict("没有待确认的居住地申报（可能已被确认）。 (No declaration is waiting for confirmation.)")
    if not may_confirm(pending, who):
        raise Forbidden("只有新居住地社区的工作人员可以确认居住地申报。"
                        " (Only a clerk of the declared residence committee may confirm it.)")
    new = residents.moved(resident, pending["to_committee"], pending["address"],
                          date.fromisoformat(pending["moved_on"]), today)
    new["moves"] = list(resident.get("moves", [])) + [
        {**pending, "status": "confirmed", "confirmed_by": who.id, "confirmed_at": now.isoformat()}]
    new["pending_move"] = None
    return residents.with_away_keys(new)


MAX_REASON = 200


def set_aside(resident: dict, who: Actor, reason: str | None, now: datetime, move_id: str | None = None) -> dict:
    """A declaration that will not be confirmed: withdrawn by its resident, or returned (退回) by
    a clerk of the declared committee, who says why. The history keeps it as such; the
    resident may declare again. The fields to set on the resident."""
    pending = resident.get("pending_move")
    if not pending or (move_id and pending["move_id"] != move_id):
        raise Conflict("没有待确认的居住地申报（可能已被确认或退回）。 (No declaration is waiting.)")
    reason = (reason or "").strip() or None
    if who.role in ("resident", "guardian"):
        if who.id != resident["_id"]:
            raise Forbidden("residents withdraw their own declaration")
        status = "withdrawn"
    elif may_confirm(pending, who):
        if not reason:
            raise BadInput("请写明退回的原因，居民会看到。 (Say why the declaration is returned.)")
        status = "returned"
    else:
        raise Forbidden("只有新居住地社区的工作人员可以退回居住地申报。"
                        " (Only a clerk of the declared residence committee may return it.)")
    if reason and len(reason) > MAX_REASON:
        raise BadInput(f"原因最多{MAX_REASON}字。 (At most {MAX_REASON} characters.)")
    closed = {**pending, "status": status, "closed_by": who.id, "closed_at": now.isoformat(), "reason": reason}
    return {"moves": list(resident.get("moves", [])) + [closed], "pending_move": None}


def recorded_at_desk(resident: dict, committee: str, address: str, moved_on: date, who: Actor, now: datetime,
                     today: date, move_id: str) -> dict:
    """A move recorded by a clerk at a desk (the resident present with proof): declared and
    confirmed by that clerk at once. A declaration waiting is confirmed or left first."""
    if resident.get("pending_move"):
        raise Conflict("该居民有一份待确认的居住地申报：请先确认该申报。"
                       " (A declaration of this resident waits for confirmation: confirm it first.)")
    new = residents.moved(resident, committee, address, moved_on, today)
    new["moves"] = list(resident.get("moves", [])) + [{
        "move_id": move_id, "from_committee": resident["residence"]["committee"], "to_committee": committee,
        "address": address, "moved_on": moved_on.isoformat(), "declared_by": who.id, "declared_by_role": who.role,
        "declared_at": now.isoformat(), "status": "confirmed", "confirmed_by": who.id,
        "confirmed_at": now.isoformat()}]
    return residents.with_away_keys(new)


def changed_event_data(before: dict, after: dict) -> dict:
    """``ResidenceChangedV1`` of a move just made (the last of ``after``'s moves)."""
    move = after["moves"][-1]
    return {"resident_id": after["_id"], "from_committee": before["residence"]["committee"],
            "to_committee": after["residence"]["committee"], "moved_on": move["moved_on"],
            "move_id": move["move_id"], "registered_committee": after.get("registered_committee"),
            "declared_by": move["declared_by"], "declared_by_role": move["declared_by_role"],
            "confirmed_by": move["confirmed_by"]}


def declared_event_data(resident: dict, pending: dict) -> dict:
    """``MoveDeclaredV1``: no address (the service answers who may see it)."""
    return {"resident_id": resident["_id"], "move_id": pending["move_id"], "from_committee": pending["from_committee"],
            "to_committee": pending["to_committee"], "registered_committee": resident.get("registered_committee"),
            "moved_on": pending["moved_on"], "declared_at": pending["declared_at"]}


# ---- the committees' lists ------------------------------------------------------------------

SIDES = {"living_here": "living_here_key", "registered_here": "registered_here_key"}


def away_row(resident: dict, side: str) -> dict:
    """A row of a committee's list (``AwayResidentV1``). The residence side gets the address (it
    serves the resident there); the registration side gets where they live, not the address;
    the ID number and the phone stay masked for both."""
    view = residents.public_view(resident)
    return {**{k: view[k] for k in ("resident_id", "name", "id_number_masked", "phone_masked",
                                    "registered_committee", "registered_outside_district", "residence_committee")},
            "residence_since": resident["residence"]["since"],
            "address": resident["residence"]["address"] if side == "living_here" else None}


def may_list(who: Actor, committee: str | None) -> str:
    """The committee whose list ``who`` may read: a clerk their own, an admin the one named."""
    if who.role == "staff":
        if committee not in (None, who.committee):
            raise Forbidden("staff see their own committee's residents")
        return who.committee
    if who.role == "admin":
        if not committee:
            raise BadInput("name the committee whose residents to list")
        return committee
    raise Forbidden("the committees' lists are for staff")


# ---- what a resident and the staff see of moves ---------------------------------------------

def move_view(move: dict, who: Actor) -> dict:
    """A move (``MoveV1``): a resident sees who declared and confirmed it by role; staff by login."""
    out = {k: move.get(k) for k in ("move_id", "from_committee", "to_committee", "address", "moved_on",
                                    "declared_by", "declared_by_role", "declared_at", "confirmed_by",
                                    "confirmed_at", "reason", "closed_at")}
    out["status"] = move.get("status", "pending")
    out["proofs"] = [{k: p[k] for k in ("file_id", "name", "content_type", "size", "at")} for p in move.get("proofs", [])]
    if not who.is_staff:
        out["declared_by"] = None
        out["confirmed_by"] = "staff" if move.get("confirmed_by") else None
    return out


def the_move(resident: dict, move_id: str) -> dict | None:
    """The declaration waiting, or a move of the history, by its id."""
    pending = resident.get("pending_move")
    if pending and pending["move_id"] == move_id:
        return pending
    return next((m for m in resident.get("moves", []) if m.get("move_id") == move_id), None)


def may_read_proof(resident: dict, move_id: str, who: Actor) -> bool:
    """A move's proofs are the resident's own and the new residence committee's, which confirms it."""
    move = the_move(resident, move_id)
    if move is None:
        return False
    return (who.role in ("resident", "guardian") and who.id == resident["_id"]) or may_confirm(move, who)


def residence_view(resident: dict, who: Actor) -> dict:
    """Where a resident lives, what they declared and every move (``ResidenceViewV1``)."""
    pending = resident.get("pending_move")
    return {"resident_id": resident["_id"], "residence_committee": resident["residence"]["committee"],
            "address": resident["residence"]["address"], "since": resident["residence"]["since"],
            "registered_committee": resident.get("registered_committee"),
            "registered_outside_district": bool(resident.get("registered_outside_district")),
            "pending_move": move_view(pending, who) if pending else None,
            "moves": [move_view(m, who) for m in reversed(resident.get("moves", []))]}


def pending_row(resident: dict, who: Actor) -> dict:
    """A declaration in the new residence committee's list to confirm: the resident (masked)
    and what they declared."""
    return {**away_row(resident, "living_here"), "address": None,
            "pending_move": move_view(resident["pending_move"], who)}
