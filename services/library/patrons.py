"""Rules about patrons (library card holders), free of I/O."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from contracts.rpc.library import PatronV1

DEFAULT_PATRON_TYPE = "adult"


def luhn_digit(digits: str) -> str:
    """The Luhn check digit of ``digits`` (what card readers and clerks' typos are checked by)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def card_number(sequence: int) -> str:
    """``LC`` + an 11-digit serial + a Luhn check digit: unique by construction (a hash of the
    resident id collided about once per two million cards). Applying a registration twice
    still makes one card: the patron is upserted by resident id and keeps its first card."""
    if not 0 < sequence < 10 ** 11:
        raise ValueError("card serial out of range")
    serial = f"{sequence:011d}"
    return f"LC{serial}{luhn_digit(serial)}"


def valid_card_number(text: str) -> bool:
    return (isinstance(text, str) and len(text) == 14 and text.startswith("LC") and text[2:].isdigit()
            and luhn_digit(text[2:13]) == text[13])


def patron_from_registration(data: dict, card: str) -> dict:
    """Fields of a new patron made from ``cn.community.resident.registered.v1`` data."""
    return {
        "card_number": card,
        "name": data["name"],
        "patron_type": DEFAULT_PATRON_TYPE,
        "home_committee": data["residence_committee"],
        "home_since": str(data.get("registered_on") or ""),
        "blocks": {},  # block id -> block: `$set blocks.<id>` adds one, `$unset` lifts it
        "audit": {},   # entry id -> who changed what (PIN set, patron type), see audit_entry
    }


def home_move(home_since: str | None, to_committee: str, moved_on: str) -> dict:
    """The update of a patron's home committee for a move on ``moved_on``: none for a move
    older than the one recorded (moves may arrive out of order)."""
    if moved_on >= str(home_since or ""):
        return {"$set": {"home_committee": to_committee, "home_since": moved_on}}
    return {}


def audit_entry(at: datetime, by: str, what: str, **detail) -> dict:
    """An audit entry of a patron, set by the same write as the change (``$set audit.<id>``:
    a map, as sub-documents pushed to an array are mangled by the embedded store)."""
    entry_id = f"{at.astimezone(timezone.utc):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:6]}"
    return {f"audit.{entry_id}": {"at": at.isoformat(), "by": str(by)[:64], "what": what, **detail}}


def audit_view(doc: dict) -> list[dict]:
    """Who changed what on a patron (PIN set, patron type), oldest first."""
    audit = doc.get("audit") or {}
    return [audit[k] for k in sorted(audit)]


def blocks_map(blocks) -> dict:
    """A patron's blocks as a map of block id -> block. Documents made before blocks were a
    map hold a list (of reasons or of blocks); read them as a map with stable ids."""
    if isinstance(blocks, dict):
        return blocks
    return {f"legacy-{i}": b if isinstance(b, dict) else {"reason": str(b), "kind": "manual"}
            for i, b in enumerate(blocks or ())}


def block_reasons(blocks) -> tuple[str, ...]:
    return tuple(str(b.get("reason", "")) for b in blocks_map(blocks).values())


def public_view(doc: dict) -> dict:
    """A patron as other services see them: never the PIN's hash."""
    return PatronV1(resident_id=doc["_id"], card_number=doc["card_number"], name=doc["name"],
                    patron_type=doc["patron_type"], home_committee=doc["home_committee"],
                    has_pin=bool(doc.get("pin_hash"))).model_dump()
