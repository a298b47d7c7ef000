"""Rules about patrons (library card holders), free of I/O."""
from __future__ import annotations

import hashlib

from contracts.rpc.library import PatronV1

DEFAULT_PATRON_TYPE = "adult"


def card_number(resident_id: str) -> str:
    """Derived from the resident, so that applying the same event twice yields one card."""
    digest = hashlib.sha256(resident_id.encode()).hexdigest()
    return "LC" + str(int(digest[:15], 16))[-12:].rjust(12, "0")


def patron_from_registration(data: dict) -> dict:
    """Fields of a new patron made from ``cn.community.resident.registered.v1`` data."""
    return {
        "card_number": card_number(data["resident_id"]),
        "name": data["name"],
        "patron_type": DEFAULT_PATRON_TYPE,
        "home_committee": data["residence_committee"],
        "blocks": {},  # block id -> block: `$set blocks.<id>` adds one, `$unset` lifts it
    }


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
    return PatronV1(resident_id=doc["_id"], card_number=doc["card_number"], name=doc["name"],
                    patron_type=doc["patron_type"], home_committee=doc["home_committee"]).model_dump()
