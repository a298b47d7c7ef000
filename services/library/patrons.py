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
        "blocks": [],
    }


def public_view(doc: dict) -> dict:
    return PatronV1(resident_id=doc["_id"], card_number=doc["card_number"], name=doc["name"],
                    patron_type=doc["patron_type"], home_committee=doc["home_committee"]).model_dump()
