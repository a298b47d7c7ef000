"""The community service's types: the matter catalogue, cases as the service's case view
shows them (its ``actions`` and ``deadline_mark`` are the service's decision, shown as
they come), notices and the log of who opened a resident's record."""
from __future__ import annotations

import graphene

from contracts.rpc.community import CASE_ACTIONS, MATTER_AUDIENCES, MATTER_LIFE_EVENTS
from gateway.schema.asking import actor, calls, principal
from gateway.schema.places import Place, place


class Matter(graphene.ObjectType):
    code = graphene.String(required=True)
    name = graphene.String(required=True)
    jurisdiction = graphene.String(required=True, description="RESIDENCE, REGISTRATION, ACCEPTING_DESK or "
                                                              "SUBDISTRICT (the sub-district's centre handles it)")
    materials = graphene.List(graphene.NonNull(graphene.String), required=True)
    promised_days = graphene.Int(required=True, description="promised time limit in working days")
    description = graphene.String()
    audiences = graphene.List(graphene.NonNull(graphene.String), required=True,
                              description="who it is for: " + ", ".join(MATTER_AUDIENCES))
    life_event = graphene.String(description="the life event it belongs to: " + ", ".join(MATTER_LIFE_EVENTS))

    @staticmethod
    def of(m: dict) -> "Matter":
        return Matter(code=m["code"], name=m["name"], jurisdiction=m["jurisdiction"], materials=m["materials"],
                      promised_days=m["promised_days"], description=m.get("description"),
                      audiences=m.get("audiences") or [], life_event=m.get("life_event"))


class AuditEntry(graphene.ObjectType):
    at = graphene.String(required=True)
    action = graphene.String(required=True)
    from_status = graphene.String()
    to_status = graphene.String(required=True)
    note = graphene.String()
    by = graphene.String(description="staff only")
    role = graphene.String()
    district = graphene.String(description="the other district of a step across districts (forwarded, its replies)")
    missing_materials = graphene.List(graphene.NonNull(graphene.String),
                                      description="what the other district asked for (remote_needs_materials)")

    @staticmethod
    def of(e: dict) -> "AuditEntry":
        return AuditEntry(at=e["at"], action=e["action"], from_status=e.get("from"), to_status=e["to"],
                          note=e.get("note"), by=e.get("by"), role=e.get("role"), district=e.get("district"),
                          missing_materials=e.get("missing_materials"))


class MaterialFile(graphene.ObjectType):
    """A file uploaded to a case (PDF, JPEG or PNG, as its content says)."""
    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    content_type = graphene.String(required=True)
    size = graphene.Int(required=True, description="bytes")
    uploaded_at = graphene.String(required=True)


# The case actions as the contract names them (contracts/rpc/community.py).
CaseActionKind = graphene.Enum("CaseActionKind", [(a.upper(), a) for a in CASE_ACTIONS])


class DeadlineMark(graphene.Enum):
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


class Urge(graphene.ObjectType):
    """A 督办 on the case: a supervisor's urging notice with a reply deadline, and the answer."""
    id = graphene.ID(required=True)
    by = graphene.String(required=True)
    at = graphene.String(required=True)
    note = graphene.String(required=True)
    reply_by = graphene.String(required=True, description="the day the answer is due (YYYY-MM-DD)")
    answer = graphene.String()
    answered_by = graphene.String()
    answered_at = graphene.String()

    @staticmethod
    def of(u: dict) -> "Urge":
        return Urge(id=u["urge_id"], by=u["by"], at=u["at"], note=u["note"], reply_by=u["reply_by"],
                    answer=u.get("answer"), answered_by=u.get("answered_by"), answered_at=u.get("answered_at"))


class Rating(graphene.ObjectType):
    """The resident's rating of their closed case."""
    score = graphene.Int(required=True, description="1 to 5")
    comment = graphene.String(required=True)
    at = graphene.String(required=True)


class Case(graphene.ObjectType):
    id = graphene.ID(required=True)
    number = graphene.String(required=True)
    version = graphene.Int(required=True)
    status = graphene.String(required=True)
    status_name = graphene.String(required=True)
    matter_code = graphene.String(required=True)
    matter_name = graphene.String(required=True)
    resident_id = graphene.String(required=True)
    resident_name = graphene.String()
    accepting_desk = graphene.Field(Place)
    accepting_committee = graphene.Field(Place)
    handling_committee = graphene.Field(Place)
    assignee = graphene.String()
    materials = graphene.List(graphene.NonNull(graphene.String))
    missing_materials = graphene.List(graphene.NonNull(graphene.String))
    submitted_at = graphene.String()
    accepted_on = graphene.String()
    deadline = graphene.String()
    deadline_problem = graphene.String(description="why no deadline could be computed (e.g. a year with "
                                                   "no working-day schedule loaded)")
    deadline_flag = graphene.String(description="due_soon or overdue once raised")
    deadline_mark = graphene.Field(DeadlineMark, description="due soon (by the next working day) or overdue, "
                                                             "as of today on the working-day calendar")
    actions = graphene.List(graphene.NonNull(CaseActionKind), required=True,
                            description="what I may do with this case now (actOnCase)")
    trail = graphene.List(graphene.NonNull(AuditEntry), required=True)
    urges = graphene.List(graphene.NonNull(Urge), required=True, description="督办 of the case (staff only)")
    rating = graphene.Field(Rating, description="the resident's rating, once the case is closed and rated")
    handling_district = graphene.String(description="handled in another district (收受分离 across districts): "
                                                    "its code; handlingCommittee is then that district's committee")
    remote_case_number = graphene.String(description="the case's number in the district that handles it")
    origin_district = graphene.String(description="forwarded here by another district: its code")
    uploads = graphene.List(graphene.NonNull(MaterialFile), required=True,
                            description="files uploaded to the case (one service call: ask for one case's)")

    @staticmethod
    def of(data: dict) -> "Case":
        return Case(
            id=data["case_id"], number=data["number"], version=data["version"], status=data["status"],
            status_name=data["status_name"], matter_code=data["matter_code"], matter_name=data["matter_name"],
            resident_id=data["resident_id"], resident_name=data.get("resident_name"),
            accepting_desk=data["accepting_desk"], accepting_committee=data["accepting_committee"],
            handling_committee=data["handling_committee"], assignee=data.get("assignee"),
            materials=data.get("materials"), missing_materials=data.get("missing_materials"),
            submitted_at=data.get("submitted_at"), accepted_on=data.get("accepted_on"),
            deadline=data.get("deadline"), deadline_problem=data.get("deadline_problem"),
            deadline_flag=data.get("deadline_flag"), deadline_mark=data.get("deadline_mark"),
            actions=data["actions"], trail=[AuditEntry.of(e) for e in data["trail"]],
            urges=[Urge.of(u) for u in data.get("urges") or []],
            rating=Rating(**data["rating"]) if data.get("rating") else None,
            handling_district=data.get("handling_district"), remote_case_number=data.get("remote_case_number"),
            origin_district=data.get("origin_district"))

    def resolve_accepting_desk(root, info):
        return place(info, root.accepting_desk)

    def resolve_accepting_committee(root, info):
        return place(info, root.accepting_committee)

    def resolve_handling_committee(root, info):
        if root.handling_district:   # a committee of the other district: this district's names do not apply
            return Place(code=root.handling_committee, name=f"{root.handling_district} 区 {root.handling_committee}",
                         kind="committee", parent=None)
        return place(info, root.handling_committee)

    def resolve_uploads(root, info):
        found = calls(info).call("community", "list_materials", actor(principal(info)), root.id)
        return [MaterialFile(id=f["file_id"], name=f["name"], content_type=f["content_type"], size=f["size"],
                             uploaded_at=f["at"]) for f in found]


class CaseQueuePage(graphene.ObjectType):
    cases = graphene.List(graphene.NonNull(Case), required=True)
    next_cursor = graphene.String(description="pass as `after` for the next page; null on the last page")


class Notice(graphene.ObjectType):
    id = graphene.ID(required=True)
    kind = graphene.String(required=True)
    title = graphene.String(required=True)
    body = graphene.String(required=True)
    case_id = graphene.String()
    created_at = graphene.String(required=True)
    read = graphene.Boolean(required=True)
    read_at = graphene.String()

    @staticmethod
    def of(n: dict) -> "Notice":
        return Notice(id=n["notice_id"], kind=n["kind"], title=n["title"], body=n["body"],
                      case_id=n.get("case_id"), created_at=n["created_at"], read=bool(n.get("read")),
                      read_at=n.get("read_at"))


class RecordAccess(graphene.ObjectType):
    """One time staff opened this resident's record (个人信息查阅记录)."""
    at = graphene.String(required=True)
    by = graphene.String(required=True, description="the clerk's login")
    committee = graphene.Field(Place, description="the clerk's committee")
    purpose = graphene.String(required=True, description="lookup or case")
    purpose_text = graphene.String(required=True)
    case_id = graphene.String()

    @staticmethod
    def of(info, e: dict) -> "RecordAccess":
        return RecordAccess(at=e["at"], by=e["by"], committee=place(info, e["committee"]) if e.get("committee")
                            else None, purpose=e["purpose"], purpose_text=e["purpose_text"], case_id=e.get("case_id"))


class RegisteredResident(graphene.ObjectType):
    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    id_number_masked = graphene.String(required=True)
    phone_masked = graphene.String()
    registered_committee = graphene.String()
    registered_district = graphene.String(description="registered in another district: its code")
    residence_committee = graphene.String(required=True)

    @staticmethod
    def of(r: dict) -> "RegisteredResident":
        return RegisteredResident(id=r["resident_id"], name=r["name"], id_number_masked=r["id_number_masked"],
                                  phone_masked=r.get("phone_masked"), registered_committee=r["registered_committee"],
                                  registered_district=r.get("registered_district"),
                                  residence_committee=r["residence_committee"])
