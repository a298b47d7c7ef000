"""The library service's mutations: renewing a loan, placing and cancelling holds, the
card's PIN; for librarians, resolving a conflict."""
from __future__ import annotations

import graphene

from gateway.schema.asking import LIBRARY_ROLES, RESIDENT_ROLES, as_resident, calls, enum_value, principal
from gateway.schema.library import Hold, LibraryCard, LibraryConflictAction, LibraryConflictDetail, Loan


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
