"""``me``: the signed-in resident, and how its parts are fetched.

``me`` asks each service once for the parts of the resident's overview its selection needs
(``resident_overview``), all at once (concurrent fan-out), and each field waits for its own
part: a service that is down costs only its fields, each with an error whose path names it
and code UNAVAILABLE; a part that fails its own check costs only the fields that need it.
"""
from __future__ import annotations

import graphene
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode
from graphql.execution.values import get_argument_values
from nameko.exceptions import deserialize

from gateway.schema.asking import actor, calls, guardian
from gateway.schema.community import Case, Notice, RecordAccess
from gateway.schema.learning import Certificate, Enrolment
from gateway.schema.library import Hold, LibraryCard, Loan, PastLoan
from gateway.schema.paging import PAGE_CAPS, WALLET_MOVEMENTS, page_size
from gateway.schema.places import Place, place
from gateway.schema.residence import Residence
from gateway.schema.schoolbag import Child, Message, Thread, ThreadWithMessages


class Me(graphene.ObjectType):
    """The signed-in resident. Each part comes from its own service."""

    id = graphene.ID(required=True)
    name = graphene.String()
    id_number_masked = graphene.String(description="first 3 and last 4 digits only")
    phone_masked = graphene.String(description="my phone number as kept, first 3 and last 4 digits (changePhone)")
    registered_committee = graphene.Field(Place, description="户籍地; null when registered outside the district")
    registered_outside_district = graphene.Boolean()
    residence_committee = graphene.Field(Place, description="居住地")
    lives_away_from_registration = graphene.Boolean(description="人户分离")
    cases = graphene.List(graphene.NonNull(Case))
    notices = graphene.List(graphene.NonNull(Notice), limit=graphene.Int(default_value=20))
    library_card = graphene.Field(LibraryCard)
    loans = graphene.List(graphene.NonNull(Loan))
    loan_history = graphene.List(graphene.NonNull(PastLoan), limit=graphene.Int(default_value=20),
                                 description="my ended loans, the latest returned first (借阅历史)")
    holds = graphene.List(graphene.NonNull(Hold))
    enrolments = graphene.List(graphene.NonNull(Enrolment))
    credits = graphene.Int(description="credit bank total (学分银行)")
    children = graphene.List(graphene.NonNull(Child), description="for guardians: their own children only")
    message_threads = graphene.List(graphene.NonNull(Thread), description="home-school messages (家校互动)")
    thread = graphene.Field(ThreadWithMessages, id=graphene.ID(required=True),
                            description="one home-school thread about one of my children, with its messages")
    access_log = graphene.List(graphene.NonNull(RecordAccess), limit=graphene.Int(default_value=20),
                               description="who on the staff side opened my record, newest first")
    residence = graphene.Field(Residence, description="where I live, my declaration waiting for confirmation and "
                                                      "every move (declareMove)")
    certificate = graphene.Field(Certificate, course_id=graphene.ID(required=True),
                                 description="the completion certificate of a course I completed (结业证书)")

    @staticmethod
    def asked_by(info, who) -> "Me":
        """The ``me`` of ``who``, its parts' calls started (``_start_me_calls``)."""
        me = Me(id=who.subject)
        me.actor, me.who = actor(who), who
        _start_me_calls(info, me)
        return me

    def _part(root, info, service: str, part: str, **options):
        """One part of my overview from ``service``, from the call started with the others
        (a part no selection foresaw gets a call of its own, with ``options``). A part that
        failed its own check raises that error here, as its single-purpose RPC would have."""
        asked = root.parts.get(service) or {}
        if part not in asked:
            asked = {part: options}
        found = calls(info).call(service, "resident_overview", *root.overview_args[service], asked)
        error = (found.get("errors") or {}).get(part)
        if error is not None:
            raise deserialize(error)
        return found[part]

    def _profile(root, info) -> dict:
        return Me._part(root, info, "community", "profile")

    def resolve_name(root, info):
        return Me._profile(root, info)["name"]

    def resolve_id_number_masked(root, info):
        return Me._profile(root, info)["id_number_masked"]

    def resolve_phone_masked(root, info):
        return Me._profile(root, info).get("phone_masked")

    def resolve_registered_committee(root, info):
        return place(info, Me._profile(root, info)["registered_committee"])

    def resolve_registered_outside_district(root, info):
        return Me._profile(root, info)["registered_outside_district"]

    def resolve_residence_committee(root, info):
        return place(info, Me._profile(root, info)["residence_committee"])

    def resolve_lives_away_from_registration(root, info):
        p = Me._profile(root, info)
        return p["registered_committee"] != p["residence_committee"]

    def resolve_cases(root, info):
        return [Case.of(c) for c in Me._part(root, info, "community", "cases")]

    def resolve_notices(root, info, limit):
        limit = page_size(limit, PAGE_CAPS["Me.notices"])  # the part holds the largest page asked
        return [Notice.of(n) for n in Me._part(root, info, "community", "notices", limit=limit)[:limit]]

    def _circulation(root, info) -> dict:
        return Me._part(root, info, "library", "circulation")

    def resolve_loan_history(root, info, limit):
        found = calls(info).call("library", "loan_history", root.id, page_size(limit, PAGE_CAPS["Me.loanHistory"]))
        return [PastLoan.of(h) for h in found]

    def resolve_loans(root, info):
        return [Loan.of(l) for l in Me._circulation(root, info)["loans"]]

    def resolve_holds(root, info):
        return [Hold.of(h) for h in Me._circulation(root, info)["holds"]]

    def _learning(root, info) -> dict:
        return Me._part(root, info, "elearning", "learning")

    def resolve_enrolments(root, info):
        return [Enrolment.of(e) for e in Me._learning(root, info)["enrolments"]]

    def resolve_credits(root, info):
        return Me._learning(root, info)["credits"]

    def resolve_children(root, info):
        return [Child.of(c) for c in Me._part(root, info, "elearning", "children")]

    def resolve_message_threads(root, info):
        return [Thread.of(t) for t in Me._part(root, info, "elearning", "threads")]

    def resolve_thread(root, info, id):
        t = calls(info).call("elearning", "thread_messages", guardian(root.who), id)
        me = ("guardian", root.id)
        return ThreadWithMessages.of(t, messages=[Message.of(m, me) for m in t["messages"]])

    def resolve_certificate(root, info, course_id):
        name = Me._profile(root, info)["name"]
        found = calls(info).call("elearning", "completion_certificate", root.id, course_id, name)
        return Certificate(number=found["number"], html=found["html"])

    def resolve_residence(root, info):
        return Residence.of(calls(info).call("community", "my_residence", root.actor, root.id))

    def resolve_access_log(root, info, limit):
        limit = page_size(limit, PAGE_CAPS["Me.accessLog"])
        found = Me._part(root, info, "community", "access_log", limit=limit)[:limit]
        return [RecordAccess.of(info, e) for e in found]

    def resolve_library_card(root, info):
        card = Me._part(root, info, "library", "card")
        return LibraryCard.of(card) if card else None


# The part of which service's overview each field of `me` needs: each service is asked once,
# for the parts the query selects, and all are asked at once.
ME_FIELD_PARTS = {
    "name": ("community", "profile"), "idNumberMasked": ("community", "profile"),
    "phoneMasked": ("community", "profile"),
    "registeredCommittee": ("community", "profile"), "registeredOutsideDistrict": ("community", "profile"),
    "residenceCommittee": ("community", "profile"), "livesAwayFromRegistration": ("community", "profile"),
    "certificate": ("community", "profile"),   # the learner's name goes on it
    "cases": ("community", "cases"), "notices": ("community", "notices"), "accessLog": ("community", "access_log"),
    "libraryCard": ("library", "card"), "loans": ("library", "circulation"), "holds": ("library", "circulation"),
    "enrolments": ("elearning", "learning"), "credits": ("elearning", "learning"),
    "children": ("elearning", "children"), "messageThreads": ("elearning", "threads"),
}
PAGED_FIELDS = {"notices": "Me.notices", "accessLog": "Me.accessLog"}   # their `limit` is a part's option


def _fields_below(info, nodes) -> list[FieldNode]:
    """The fields that ``nodes`` select one level down, through fragments."""
    found: list[FieldNode] = []

    def walk(selection_set):
        for sel in (selection_set.selections if selection_set else []):
            if isinstance(sel, FieldNode):
                found.append(sel)
            elif isinstance(sel, InlineFragmentNode):
                walk(sel.selection_set)
            elif isinstance(sel, FragmentSpreadNode) and sel.name.value in info.fragments:
                walk(info.fragments[sel.name.value].selection_set)

    for node in nodes:
        walk(node.selection_set)
    return found


def _me_parts(info) -> dict[str, dict[str, dict]]:
    """{service: {part: options}} for what the current `me` field selects, through fragments."""
    fields = info.schema.get_type("Me").fields
    parts: dict[str, dict[str, dict]] = {}
    for node in _fields_below(info, info.field_nodes):
        name = node.name.value
        if name not in ME_FIELD_PARTS:
            continue
        service, part = ME_FIELD_PARTS[name]
        options = parts.setdefault(service, {}).setdefault(part, {})
        if name in PAGED_FIELDS:   # the largest page any selection asks; each field takes its own
            asked = get_argument_values(fields[name], node, info.variable_values)["limit"]
            options["limit"] = max(options.get("limit", 1), page_size(asked, PAGE_CAPS[PAGED_FIELDS[name]]))
        elif part == "children" and any(f.name.value == "wallet" for f in _fields_below(info, [node])):
            options["wallet_movements"] = WALLET_MOVEMENTS   # the wallets come with the children
    return parts


def _start_me_calls(info, me: Me) -> None:
    me.parts = _me_parts(info)
    me.overview_args = {"community": (me.actor, me.id), "elearning": (guardian(me.who), me.id), "library": (me.id,)}
    for service, parts in me.parts.items():
        calls(info).start(service, "resident_overview", *me.overview_args[service], parts)
