"""Moves of residence and the committees' 人户分离 lists as GraphQL shows them: a resident's
residence with the declaration waiting and every move (``me { residence }``), and for clerks
the residents living here registered elsewhere, registered here living elsewhere, and the
declarations to confirm (the community service decides what each side sees, masked)."""
from __future__ import annotations

import graphene

from gateway.schema.places import Place, place


class Proof(graphene.ObjectType):
    """A file of proof of residence the resident added to a declaration (downloaded in the console)."""
    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    content_type = graphene.String(required=True)
    size = graphene.Int(required=True)
    uploaded_at = graphene.String(required=True)

    @staticmethod
    def of(p: dict) -> "Proof":
        return Proof(id=p["file_id"], name=p["name"], content_type=p["content_type"], size=p["size"],
                     uploaded_at=p["at"])


class Move(graphene.ObjectType):
    """One move of residence, or the declaration waiting for confirmation."""
    id = graphene.ID(required=True)
    status = graphene.String(required=True, description="pending, confirmed, withdrawn (by me) or returned "
                                                        "(by the committee, with a reason)")
    from_committee = graphene.Field(Place)
    to_committee = graphene.Field(Place, required=True)
    address = graphene.String()
    moved_on = graphene.String(required=True, description="from when (YYYY-MM-DD)")
    declared_by = graphene.String(description="staff only: the resident's id or the clerk's login")
    declared_by_role = graphene.String(required=True, description="resident (in the portal) or staff (at a desk)")
    declared_at = graphene.String(required=True)
    confirmed_by = graphene.String(description="the clerk's login for staff; \"staff\" for the resident")
    confirmed_at = graphene.String()
    reason = graphene.String(description="why the committee returned (退回) the declaration")
    closed_at = graphene.String(description="when it was withdrawn or returned")
    proofs = graphene.List(graphene.NonNull(Proof), required=True, description="files of proof of residence")

    @staticmethod
    def of(m: dict) -> "Move":
        return Move(id=m["move_id"], status=m["status"], from_committee=m["from_committee"],
                    to_committee=m["to_committee"], address=m.get("address"), moved_on=str(m["moved_on"]),
                    declared_by=m.get("declared_by"), declared_by_role=m["declared_by_role"],
                    declared_at=m["declared_at"], confirmed_by=m.get("confirmed_by"),
                    confirmed_at=m.get("confirmed_at"), reason=m.get("reason"), closed_at=m.get("closed_at"),
                    proofs=[Proof.of(p) for p in m.get("proofs", [])])

    def resolve_from_committee(root, info):
        return place(info, root.from_committee)

    def resolve_to_committee(root, info):
        return place(info, root.to_committee)


class Residence(graphene.ObjectType):
    """Where I live (居住地), the declaration I made waiting for confirmation, every move."""
    committee = graphene.Field(Place, required=True)
    address = graphene.String(required=True)
    since = graphene.String(required=True)
    pending_move = graphene.Field(Move)
    moves = graphene.List(graphene.NonNull(Move), required=True, description="newest first")

    @staticmethod
    def of(r: dict) -> "Residence":
        return Residence(committee=r["residence_committee"], address=r["address"], since=r["since"],
                         pending_move=Move.of(r["pending_move"]) if r.get("pending_move") else None,
                         moves=[Move.of(m) for m in r["moves"]])

    def resolve_committee(root, info):
        return place(info, root.committee)


class AwayResident(graphene.ObjectType):
    """A resident living away from their registration, as one of the two committees sees them."""
    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    id_number_masked = graphene.String(required=True)
    phone_masked = graphene.String()
    registered_committee = graphene.Field(Place, description="null when registered outside the district")
    registered_outside_district = graphene.Boolean(required=True)
    residence_committee = graphene.Field(Place, required=True)
    residence_since = graphene.String(required=True)
    address = graphene.String(description="for the residence committee only")
    pending_move = graphene.Field(Move, description="movesToConfirm: what the resident declared")

    @staticmethod
    def of(r: dict) -> "AwayResident":
        return AwayResident(id=r["resident_id"], name=r["name"], id_number_masked=r["id_number_masked"],
                            phone_masked=r.get("phone_masked"), registered_committee=r.get("registered_committee"),
                            registered_outside_district=r["registered_outside_district"],
                            residence_committee=r["residence_committee"], residence_since=r["residence_since"],
                            address=r.get("address"),
                            pending_move=Move.of(r["pending_move"]) if r.get("pending_move") else None)

    def resolve_registered_committee(root, info):
        return place(info, root.registered_committee)

    def resolve_residence_committee(root, info):
        return place(info, root.residence_committee)


class AwayResidentPage(graphene.ObjectType):
    residents = graphene.List(graphene.NonNull(AwayResident), required=True)
    next_cursor = graphene.String(description="pass as `after` for the next page; null on the last page")

    @staticmethod
    def of(page: dict) -> "AwayResidentPage":
        return AwayResidentPage(residents=[AwayResident.of(r) for r in page["rows"]], next_cursor=page["next"])
