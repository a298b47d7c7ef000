"""The library service's mutations: renewing a loan, placing and cancelling holds, the
card's PIN, borrowing, returning, holding and opening digital resources; for librarians, resolving a conflict."""
from __future__ import annotations

import graphene

from gateway.schema.asking import LIBRARY_ROLES, RESIDENT_ROLES, as_resident, calls, enum_value, principal
from gateway.schema.library import (DigitalLink, DigitalLoan, Hold, LibraryCard, LibraryConflictAction,
                                    LibraryConflictDetail, Loan)


class RenewLoan(graphene.Mutation):
    """Renew one of my loans (refused while another patron holds the title, or past the limit)."""

    class Arguments:
        barcode = graphene.String(required=True)

    Output = Loan

    def mutate(root, info, barcode):
        return Loan.of(as_resident(info, "library", "renew", barcode))


class PlaceHold(graphene.Mutation):
    """Join the queue for a title, to collect it at a library or branch."""

    class Arguments:
        title_id = graphene.ID(required=True)
        pickup = graphene.String(required=True)

    Output = Hold

    def mutate(root, info, title_id, pickup):
        return Hold.of(as_resident(info, "library", "place_hold", title_id, pickup))


class CancelHold(graphene.Mutation):
    class Arguments:
        hold_id = graphene.ID(required=True)

    Output = Hold

    def mutate(root, info, hold_id):
        return Hold.of(as_resident(info, "library", "cancel_hold", hold_id))


class SetLibraryPin(graphene.Mutation):
    """Set the PIN of my library card, asked by self-check machines: 4 to 8 digits, not an
    easy one (0000, 1234...). Stored only hashed; it also lifts a block after wrong PINs."""

    class Arguments:
        pin = graphene.String(required=True)

    Output = LibraryCard

    def mutate(root, info, pin):
        who = principal(info, *RESIDENT_ROLES)   # the patron, and also who set it (`by`)
        return LibraryCard.of(calls(info).call("library", "set_patron_pin", who.subject, pin, who.subject))


class ResolveLibraryConflict(graphene.Mutation):
    """Librarians settle an open conflict: what they did and a note of what they found (both
    required); who and when are kept with them (audited). CONFLICT when it is resolved already."""

    class Arguments:
        conflict_id = graphene.ID(required=True)
        action = LibraryConflictAction(required=True)
        note = graphene.String(required=True)

    Output = LibraryConflictDetail

    def mutate(root, info, conflict_id, action, note):
        who = principal(info, *LIBRARY_ROLES)
        return LibraryConflictDetail.of(calls(info).call("library", "resolve_conflict", conflict_id, {
            "action": enum_value(action), "note": note, "by": who.subject}))


class BorrowDigital(graphene.Mutation):
    """Borrow a licence copy of a digital resource (ONE_READER) with my library card; CONFLICT
    when all are out (then holdDigital) or when I have it already."""

    class Arguments:
        resource_id = graphene.ID(required=True)

    Output = DigitalLoan

    def mutate(root, info, resource_id):
        return DigitalLoan.of(as_resident(info, "library", "borrow_digital", resource_id))


class ReturnDigital(graphene.Mutation):
    """Give a digital loan back before its end; the next in the queue gets it."""

    class Arguments:
        resource_id = graphene.ID(required=True)

    Output = DigitalLoan

    def mutate(root, info, resource_id):
        return DigitalLoan.of(as_resident(info, "library", "return_digital", resource_id))


class HoldDigital(graphene.Mutation):
    """Join the queue of a digital resource whose licence copies are all out: the first free one
    is lent to me at once, with a notice."""

    class Arguments:
        resource_id = graphene.ID(required=True)

    Output = Hold

    def mutate(root, info, resource_id):
        return Hold.of(as_resident(info, "library", "hold_digital", resource_id))


class OpenDigital(graphene.Mutation):
    """A short-lived link that reads the file for me (FORBIDDEN unless I may read it now: open
    to all, unlimited for card holders, lent ones while I have them)."""

    class Arguments:
        resource_id = graphene.ID(required=True)

    Output = DigitalLink

    def mutate(root, info, resource_id):
        return DigitalLink.of(as_resident(info, "library", "digital_link", resource_id))
