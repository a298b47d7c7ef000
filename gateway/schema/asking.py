"""Who is asking a resolver: the signed-in principal (refused when absent or of another
role), the same person as the services' ``actor`` or, for the e-schoolbag, as a guardian;
and the request's ``Calls`` through which every resolver reaches the services."""
from __future__ import annotations

from gateway.auth import Unauthenticated
from gateway.errors import Forbidden

RESIDENT_ROLES = ("resident", "guardian")
STAFF_ROLES = ("staff", "admin")          # committee clerks: cases, residents at the desk
LIBRARY_ROLES = ("librarian", "admin")    # the library network's staff: conflicts, kiosks
# who reads cases and queues in their scope: clerks, sub-district centres, supervisors (services/community/supervision.py)
CASE_READERS = ("staff", "centre", "supervisor", "admin")
CASE_HANDLERS = ("staff", "centre", "admin")        # act on the cases their committee or centre handles
SUPERVISION_ROLES = ("supervisor", "centre", "admin")   # the red and yellow counts
URGING_ROLES = ("supervisor", "admin")                  # 督办


def principal(info, *roles):
    who = info.context.principal
    if who is None:
        raise Unauthenticated("sign in first: send 'Authorization: Bearer <token>'")
    if roles and who.role not in roles:
        raise Forbidden(f"this needs the role {' or '.join(roles)}")
    return who


def actor(who) -> dict:
    return {"id": who.subject, "role": who.role, "committee": who.committee,
            **({"subdistrict": who.subdistrict} if who.subdistrict else {})}


def guardian(who) -> dict:
    """The reader the e-schoolbag checks: the signed-in resident as a guardian, so that a
    thread opens only when it is about one of their own children."""
    return {"role": "guardian", "id": who.subject}


def calls(info):
    return info.context.calls


def as_resident(info, service: str, method: str, *args):
    """``service.method(<the signed-in resident's id>, *args)``: a resident's (or guardian's)
    own request, refused to anyone else."""
    who = principal(info, *RESIDENT_ROLES)
    return calls(info).call(service, method, who.subject, *args)


def enum_value(value):
    """A GraphQL enum argument as the services name it (graphene hands over the member)."""
    return value.value if hasattr(value, "value") else value
