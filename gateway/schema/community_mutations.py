"""The community service's mutations: submitting a case, a step of its life, registering
a resident at a desk, declaring a move and confirming it."""
from __future__ import annotations

import graphene

from gateway.errors import BadRequest, Forbidden
from gateway.schema.asking import CASE_HANDLERS, RESIDENT_ROLES, STAFF_ROLES, actor, calls, principal
from gateway.schema.community import Case, CaseActionKind, Notice, RegisteredResident
from gateway.schema.residence import Residence


class SubmitCase(graphene.Mutation):
    """A resident submits a case (at the desk of their residence unless they choose one);
    staff submit on a resident's behalf at their own desk."""

    class Arguments:
        matter_code = graphene.String(required=True)
        desk = graphene.String()
        materials = graphene.List(graphene.NonNull(graphene.String))
        note = graphene.String()
        resident_id = graphene.ID(description="staff only: the resident at the desk")

    Output = Case

    def mutate(root, info, matter_code, desk=None, materials=None, note=None, resident_id=None):
        who = principal(info, *RESIDENT_ROLES, *STAFF_ROLES)
        if who.role in RESIDENT_ROLES:
            if resident_id not in (None, who.subject):
                raise Forbidden("residents submit cases for themselves")
            resident_id = who.subject
        elif not resident_id:
            raise BadRequest("residentId is required when staff submit a case")
        request = {"resident_id": resident_id, "matter_code": matter_code, "desk": desk,
                   "materials": materials or [], "note": note}
        return Case.of(calls(info).call("community", "submit_case", actor(who), request))


class ActOnCase(graphene.Mutation):
    """One step of a case's life: residents supplement and withdraw their own; staff accept,
    request a supplement, assign, transfer, complete or reject."""

    class Arguments:
        case_id = graphene.ID(required=True)
        action = CaseActionKind(required=True)
        expected_version = graphene.Int(description="refuse with CONFLICT if the case changed since")
        note = graphene.String()
        reason = graphene.String()
        assignee = graphene.String()
        to_committee = graphene.String()
        missing_materials = graphene.List(graphene.NonNull(graphene.String))
        materials = graphene.List(graphene.NonNull(graphene.String))

    Output = Case

    def mutate(root, info, case_id, action, **kwargs):
        who = principal(info, *RESIDENT_ROLES, *CASE_HANDLERS)   # a supervisor acts only by 督办 (urgeCase)
        request = {"case_id": case_id, "action": action.value if hasattr(action, "value") else action,
                   **{k: v for k, v in kwargs.items() if v is not None}}
        return Case.of(calls(info).call("community", "act_on_case", actor(who), request))


class RegisterResident(graphene.Mutation):
    """Staff register a resident at a desk."""

    class Arguments:
        id_number = graphene.String(required=True)
        name = graphene.String(required=True)
        phone = graphene.String()
        registered_committee = graphene.String(description="omit when registered outside the district")
        residence_committee = graphene.String(required=True)
        address = graphene.String(required=True)
        registered_district = graphene.String(description="registered in another district: its code (six digits)")
        registered_place = graphene.String(description="with registeredDistrict: the committee code there")

    Output = RegisteredResident

    def mutate(root, info, **kwargs):
        principal(info, *STAFF_ROLES)
        return RegisteredResident.of(calls(info).call("community", "register_resident", kwargs))


class ChangePhone(graphene.Mutation):
    """Change my phone number (or, for staff at a desk, a resident's: ``residentId``); null
    removes it."""

    class Arguments:
        phone = graphene.String(description="a mainland mobile number, 11 digits")
        resident_id = graphene.ID(description="staff only: the resident at the desk")

    Output = RegisteredResident

    def mutate(root, info, phone=None, resident_id=None):
        who = principal(info, *RESIDENT_ROLES, *STAFF_ROLES)
        if who.role in RESIDENT_ROLES:
            resident_id = who.subject
        elif not resident_id:
            raise BadRequest("residentId is required when staff change a phone number")
        return RegisteredResident.of(calls(info).call("community", "change_phone", actor(who),
                                                      {"resident_id": resident_id, "phone": phone}))


class MarkNoticeRead(graphene.Mutation):
    """A resident marks one of their notices read."""

    class Arguments:
        id = graphene.ID(required=True)

    Output = Notice

    def mutate(root, info, id):
        who = principal(info, *RESIDENT_ROLES)
        return Notice.of(calls(info).call("community", "mark_notice_read", actor(who), id))


class DeclareMove(graphene.Mutation):
    """I declare my new residence (居住地申报): a committee of the district, the address, from
    when (at most a day ahead). Nothing changes until a clerk of that committee confirms it."""

    class Arguments:
        committee = graphene.String(required=True, description="the residents' or villagers' committee (居委/村委)")
        address = graphene.String(required=True)
        moved_on = graphene.String(required=True, description="from when (YYYY-MM-DD)")

    Output = Residence

    def mutate(root, info, committee, address, moved_on):
        who = principal(info, *RESIDENT_ROLES)
        request = {"resident_id": who.subject, "residence_committee": committee, "address": address,
                   "moved_on": moved_on}
        return Residence.of(calls(info).call("community", "declare_move", actor(who), request))


class ConfirmMove(graphene.Mutation):
    """A clerk of the declared committee confirms a resident's declaration: the residence changes."""

    class Arguments:
        resident_id = graphene.ID(required=True)
        move_id = graphene.ID(description="refuse with CONFLICT if the declaration waiting is another one")

    Output = Residence

    def mutate(root, info, resident_id, move_id=None):
        who = principal(info, *STAFF_ROLES)
        request = {"resident_id": resident_id, **({"move_id": move_id} if move_id else {})}
        return Residence.of(calls(info).call("community", "confirm_move", actor(who), request))


class SetAsideMove(graphene.Mutation):
    """A declaration that will not be confirmed: I withdraw mine, or a clerk of the declared
    committee returns it (退回) with a reason I read. The resident may declare again."""

    class Arguments:
        resident_id = graphene.ID(description="staff: the resident whose declaration is returned; residents: none")
        move_id = graphene.ID(description="refuse with CONFLICT if the declaration waiting is another one")
        reason = graphene.String(description="staff: why it is returned (required)")

    Output = Residence

    def mutate(root, info, resident_id=None, move_id=None, reason=None):
        who = principal(info, *RESIDENT_ROLES, *STAFF_ROLES)
        if who.role in RESIDENT_ROLES:
            if resident_id not in (None, who.subject):
                raise Forbidden("residents withdraw their own declaration")
            resident_id = who.subject
        elif not resident_id:
            raise BadRequest("residentId is required when staff return a declaration")
        request = {"resident_id": resident_id, "move_id": move_id, "reason": reason}
        return Residence.of(calls(info).call("community", "set_aside_move", actor(who), request))
