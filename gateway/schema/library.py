"""The library service's types: my library card, loans and holds, the catalogue with its
availability per location."""
from __future__ import annotations

import graphene

from gateway.schema.places import Place, place


class LibraryCard(graphene.ObjectType):
    card_number = graphene.String(required=True)
    patron_type = graphene.String(required=True)
    home_committee = graphene.Field(Place)
    has_pin = graphene.Boolean(required=True, description="a PIN for self-check machines is set (setLibraryPin)")

    @staticmethod
    def of(p: dict) -> "LibraryCard":
        return LibraryCard(card_number=p["card_number"], patron_type=p["patron_type"],
                           home_committee=p["home_committee"], has_pin=bool(p.get("has_pin")))

    def resolve_home_committee(root, info):
        return place(info, root.home_committee)


class Loan(graphene.ObjectType):
    barcode = graphene.String(required=True)
    title_id = graphene.String(required=True)
    title = graphene.String()
    status = graphene.String(required=True, description="on_loan, lost or claimed_returned")
    due = graphene.String()
    renewals = graphene.Int()
    loaned_at = graphene.String()

    @staticmethod
    def of(l: dict) -> "Loan":
        return Loan(barcode=l["barcode"], title_id=l["title_id"], title=l.get("title"), status=l["status"],
                    due=l.get("due"), renewals=l.get("renewals"), loaned_at=l.get("loaned_at"))


class PastLoan(graphene.ObjectType):
    """A loan that has ended (借阅历史): what I borrowed, when, and when it came back."""
    loan_id = graphene.ID(required=True)
    barcode = graphene.String(required=True)
    title = graphene.String()
    loaned_at = graphene.String()
    due = graphene.String()
    returned_at = graphene.String()
    fine_cents = graphene.Int()

    @staticmethod
    def of(h: dict) -> "PastLoan":
        return PastLoan(loan_id=h["loan_id"], barcode=h["barcode"], title=h.get("title"), loaned_at=h.get("loaned_at"),
                        due=h.get("due"), returned_at=h.get("returned_at"), fine_cents=h.get("fine_cents"))


class Hold(graphene.ObjectType):
    id = graphene.ID(required=True)
    title_id = graphene.String(required=True)
    title = graphene.String()
    pickup = graphene.String(required=True)
    status = graphene.String(required=True, description="waiting, in_transit or ready")
    position = graphene.Int(description="place in the queue while waiting")
    expires = graphene.String(description="collect by this day once ready")
    placed_at = graphene.String()

    @staticmethod
    def of(h: dict) -> "Hold":
        return Hold(id=h["hold_id"], title_id=h["title_id"], title=h.get("title"), pickup=h["pickup"],
                    status=h["status"], position=h.get("position"), expires=h.get("expires"),
                    placed_at=h.get("placed_at"))


class Availability(graphene.ObjectType):
    location = graphene.String(required=True)
    available = graphene.Int(required=True)
    total = graphene.Int(required=True)


class LibraryLocation(graphene.ObjectType):
    code = graphene.String(required=True, description="what placeHold takes as its pickup")
    name = graphene.String(required=True)
    kind = graphene.String(required=True, description="library, branch or kiosk")
    committee = graphene.Field(Place, description="the committee it stands in")
    pickup = graphene.Boolean(required=True, description="holds can be collected here")

    @staticmethod
    def of(loc: dict) -> "LibraryLocation":
        return LibraryLocation(code=loc["code"], name=loc["name"], kind=loc["kind"], committee=loc.get("committee"),
                               pickup=loc["pickup"])

    def resolve_committee(root, info):
        return place(info, root.committee)


class CatalogueTitle(graphene.ObjectType):
    id = graphene.ID(required=True)
    title = graphene.String(required=True)
    authors = graphene.List(graphene.NonNull(graphene.String), required=True)
    subjects = graphene.List(graphene.NonNull(graphene.String), required=True)
    isbn = graphene.String()
    availability = graphene.List(graphene.NonNull(Availability), required=True)

    @staticmethod
    def of(t: dict) -> "CatalogueTitle":
        return CatalogueTitle(id=t["title_id"], title=t["title"], authors=t["authors"], subjects=t["subjects"],
                              isbn=t.get("isbn"), availability=[Availability(**a) for a in t["availability"]])
