"""The GraphQL schema (graphene 3). Resolvers check who is asking and call services;
the rules live in the services.

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

from contracts.rpc.community import CASE_ACTIONS
from gateway import place_names
from gateway.errors import BadRequest, Forbidden
from gateway.auth import Unauthenticated
from services.common.config import SERVICES

RESIDENT_ROLES = ("resident", "guardian")
STAFF_ROLES = ("staff", "admin")


# ---- who is asking ---------------------------------------------------------------------

def principal(info, *roles):
    who = info.context.principal
    if who is None:
        raise Unauthenticated("sign in first: send 'Authorization: Bearer <token>'")
    if roles and who.role not in roles:
        raise Forbidden(f"this needs the role {' or '.join(roles)}")
    return who


def actor(who) -> dict:
    return {"id": who.subject, "role": who.role, "committee": who.committee}


def calls(info):
    return info.context.calls


# The most each page argument gets from its resolver. The cost limit counts a page asked for
# through a variable at this size, so a query cannot hide its real size from the limit.
PAGE_CAPS = {"Query.catalogue": 50, "Query.staffQueue": 100, "Me.notices": 100, "Me.accessLog": 100}
# Lists sized by the data, not by the query, that hold fewer than the cost limit's default
# of 20: a resolver's fixed number (services, a wallet's recent movements), or a household.
LIST_SIZES = {"Query.health": len(SERVICES), "Wallet.recent": 5, "Me.children": 5}
WALLET_MOVEMENTS = LIST_SIZES["Wallet.recent"]


def page_size(asked: int | None, most: int, default: int = 20) -> int:
    """A page size clamped to 1..most; an explicit null means the default."""
    return max(1, min(default if asked is None else asked, most))


def place(info, code):
    if code is None:
        return None
    p = place_names.kept.get(code, lambda: calls(info).call("community", "list_places")) \
        or {"code": code, "name": code, "kind": "committee"}
    return Place(code=p["code"], name=p["name"], kind=p["kind"])


# ---- types -----------------------------------------------------------------------------

class ServiceHealth(graphene.ObjectType):
    service = graphene.String(required=True)
    status = graphene.String(required=True, description="up, down (a part is down) or unavailable")
    broker = graphene.String()
    store = graphene.String()
    detail = graphene.String()


class Place(graphene.ObjectType):
    code = graphene.String(required=True)
    name = graphene.String(required=True)
    kind = graphene.String(required=True)


class Matter(graphene.ObjectType):
    code = graphene.String(required=True)
    name = graphene.String(required=True)
    jurisdiction = graphene.String(required=True, description="RESIDENCE, REGISTRATION or ACCEPTING_DESK")
    materials = graphene.List(graphene.NonNull(graphene.String), required=True)
    promised_days = graphene.Int(required=True, description="promised time limit in working days")
    description = graphene.String()


class AuditEntry(graphene.ObjectType):
    at = graphene.String(required=True)
    action = graphene.String(required=True)
    from_status = graphene.String()
    to_status = graphene.String(required=True)
    note = graphene.String()
    by = graphene.String(description="staff only")
    role = graphene.String()


# The case actions as the contract names them (contracts/rpc/community.py).
CaseActionKind = graphene.Enum("CaseActionKind", [(a.upper(), a) for a in CASE_ACTIONS])


class DeadlineMark(graphene.Enum):
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


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
            actions=data["actions"],
            trail=[AuditEntry(at=e["at"], action=e["action"], from_status=e.get("from"), to_status=e["to"],
                              note=e.get("note"), by=e.get("by"), role=e.get("role")) for e in data["trail"]])

    def resolve_accepting_desk(root, info):
        return place(info, root.accepting_desk)

    def resolve_accepting_committee(root, info):
        return place(info, root.accepting_committee)

    def resolve_handling_committee(root, info):
        return place(info, root.handling_committee)


class Notice(graphene.ObjectType):
    id = graphene.ID(required=True)
    kind = graphene.String(required=True)
    title = graphene.String(required=True)
    body = graphene.String(required=True)
    case_id = graphene.String()
    created_at = graphene.String(required=True)


class Certificate(graphene.ObjectType):
    number = graphene.String(required=True)
    html = graphene.String(required=True, description="a printable page (UTF-8 HTML, escaped)")


class RecordAccess(graphene.ObjectType):
    """One time staff opened this resident's record (个人信息查阅记录)."""
    at = graphene.String(required=True)
    by = graphene.String(required=True, description="the clerk's login")
    committee = graphene.Field(Place, description="the clerk's committee")
    purpose = graphene.String(required=True, description="lookup or case")
    purpose_text = graphene.String(required=True)
    case_id = graphene.String()


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


def _loan(l: dict) -> Loan:
    return Loan(barcode=l["barcode"], title_id=l["title_id"], title=l.get("title"), status=l["status"],
                due=l.get("due"), renewals=l.get("renewals"), loaned_at=l.get("loaned_at"))


class Availability(graphene.ObjectType):
    location = graphene.String(required=True)
    available = graphene.Int(required=True)
    total = graphene.Int(required=True)


class CatalogueTitle(graphene.ObjectType):
    id = graphene.ID(required=True)
    title = graphene.String(required=True)
    authors = graphene.List(graphene.NonNull(graphene.String), required=True)
    subjects = graphene.List(graphene.NonNull(graphene.String), required=True)
    isbn = graphene.String()
    availability = graphene.List(graphene.NonNull(Availability), required=True)


class LessonProgress(graphene.ObjectType):
    """Where the learner is in one lesson, from whichever device reported last: another
    device resumes from here."""
    lesson_id = graphene.ID(required=True)
    position = graphene.Int(required=True, description="seconds into the lesson")
    percent = graphene.Int(required=True)
    completed = graphene.Boolean(required=True)
    updated_at = graphene.String(required=True, description="when the newest report was made")
    channel = graphene.String(required=True, description="tv, mobile, web or xapi")


class Enrolment(graphene.ObjectType):
    course_id = graphene.String(required=True)
    course_title = graphene.String()
    completed = graphene.Boolean(required=True)
    lessons_completed = graphene.Int()
    last_activity = graphene.String()
    enrolled_at = graphene.String()
    lessons = graphene.List(graphene.NonNull(LessonProgress), required=True,
                            description="progress per lesson started, most recent first")


class Mark(graphene.ObjectType):
    submitted_at = graphene.String()
    late = graphene.Boolean()
    mark = graphene.String()
    comment = graphene.String()


class Assignment(graphene.ObjectType):
    id = graphene.ID(required=True)
    title = graphene.String(required=True)
    class_title = graphene.String()
    due_at = graphene.String(required=True)
    state = graphene.String(required=True, description="open, submitted, late, missing or marked")
    submission = graphene.Field(Mark)


class WalletMovement(graphene.ObjectType):
    kind = graphene.String(required=True)
    amount_fen = graphene.Int(required=True, description="integer fen (分); charges are negative")
    balance_after_fen = graphene.Int()
    at = graphene.String()
    terminal_id = graphene.String()


class Wallet(graphene.ObjectType):
    balance_fen = graphene.Int(required=True)
    frozen = graphene.Boolean(required=True)
    per_payment_limit_fen = graphene.Int()
    daily_limit_fen = graphene.Int()
    spent_today_fen = graphene.Int()
    low_balance = graphene.Boolean()
    recent = graphene.List(graphene.NonNull(WalletMovement), required=True)


class Child(graphene.ObjectType):
    """A guardian's child (a minor: only what the guardian needs)."""

    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    grade = graphene.String()
    classes = graphene.List(graphene.NonNull(graphene.String), required=True)
    assignments = graphene.List(graphene.NonNull(Assignment), required=True)
    wallet = graphene.Field(Wallet)

    def resolve_wallet(root, info):
        w = root.wallet_found   # came with the children (`Me.children` asks for it when selected)
        if w is None:
            return None
        return Wallet(balance_fen=w["balance_fen"], frozen=w["frozen"], spent_today_fen=w.get("spent_today_fen"),
                      per_payment_limit_fen=w["limits"].get("per_payment_fen"),
                      daily_limit_fen=w["limits"].get("daily_fen"), low_balance=w.get("low_balance"),
                      recent=[WalletMovement(kind=m["kind"], amount_fen=m["amount_fen"],
                                             balance_after_fen=m.get("balance_after_fen"),
                                             at=m.get("booked_at") or m.get("at"), terminal_id=m.get("terminal_id"))
                              for m in w.get("recent", [])])


def _child(c: dict) -> Child:
    child = Child(id=c["student_id"], name=c["name"], grade=c.get("grade"),
                  classes=[k["title"] for k in c.get("classes", [])],
                  assignments=[Assignment(
                      id=a.get("assignment_id") or a.get("id"), title=a["title"], class_title=a.get("class_title"),
                      due_at=a["due_at"], state=a["state"],
                      submission=Mark(submitted_at=(a["submission"] or {}).get("submitted_at"),
                                      late=(a["submission"] or {}).get("late"),
                                      mark=None if (a["submission"] or {}).get("mark") is None
                                      else str(a["submission"]["mark"]),
                                      comment=(a["submission"] or {}).get("comment")) if a.get("submission") else None)
                      for a in c.get("assignments", [])])
    child.wallet_found = c.get("wallet")
    return child


class ThreadFields:
    id = graphene.ID(required=True)
    student_id = graphene.String()
    subject = graphene.String()
    last_message_at = graphene.String()
    last_read_at = graphene.String(description="when I last read it (marked it read, or wrote in it)")
    unread = graphene.Boolean()


class Thread(ThreadFields, graphene.ObjectType):
    """A home-school thread about one of my children (家校互动); its messages are read one
    thread at a time, with `me { thread(id) }`."""


class Message(graphene.ObjectType):
    id = graphene.ID(required=True)
    text = graphene.String(required=True)
    at = graphene.String(required=True)
    author_role = graphene.String(required=True, description="teacher or guardian")
    from_me = graphene.Boolean(required=True)
    seen = graphene.Boolean(required=True, description="someone else in the thread has read it")


class ThreadWithMessages(ThreadFields, graphene.ObjectType):
    messages = graphene.List(graphene.NonNull(Message), required=True, description="oldest first")


def _thread(t: dict, cls=Thread, **more):
    return cls(id=t["thread_id"], student_id=t.get("student_id"),
               subject=f"{t.get('student_name', '')} · {t.get('class_title', '')}",
               last_message_at=t.get("last_message_at"), last_read_at=t.get("last_read_at"),
               unread=bool(t.get("unread")), **more)


def guardian(who) -> dict:
    """The reader the e-schoolbag checks: the signed-in resident as a guardian, so that a
    thread opens only when it is about one of their own children."""
    return {"role": "guardian", "id": who.subject}


class Me(graphene.ObjectType):
    """The signed-in resident. Each part comes from its own service."""

    id = graphene.ID(required=True)
    name = graphene.String()
    id_number_masked = graphene.String(description="first 3 and last 4 digits only")
    registered_committee = graphene.Field(Place, description="户籍地; null when registered outside the district")
    registered_outside_district = graphene.Boolean()
    residence_committee = graphene.Field(Place, description="居住地")
    lives_away_from_registration = graphene.Boolean(description="人户分离")
    cases = graphene.List(graphene.NonNull(Case))
    notices = graphene.List(graphene.NonNull(Notice), limit=graphene.Int(default_value=20))
    library_card = graphene.Field(LibraryCard)
    loans = graphene.List(graphene.NonNull(Loan))
    holds = graphene.List(graphene.NonNull(Hold))
    enrolments = graphene.List(graphene.NonNull(Enrolment))
    credits = graphene.Int(description="credit bank total (学分银行)")
    children = graphene.List(graphene.NonNull(Child), description="for guardians: their own children only")
    message_threads = graphene.List(graphene.NonNull(Thread), description="home-school messages (家校互动)")
    thread = graphene.Field(ThreadWithMessages, id=graphene.ID(required=True),
                            description="one home-school thread about one of my children, with its messages")
    access_log = graphene.List(graphene.NonNull(RecordAccess), limit=graphene.Int(default_value=20),
                               description="who on the staff side opened my record, newest first")
    certificate = graphene.Field(Certificate, course_id=graphene.ID(required=True),
                                 description="the completion certificate of a course I completed (结业证书)")

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
        found = Me._part(root, info, "community", "notices", limit=limit)[:limit]
        return [Notice(id=n["notice_id"], kind=n["kind"], title=n["title"], body=n["body"],
                       case_id=n.get("case_id"), created_at=n["created_at"]) for n in found]

    def _circulation(root, info) -> dict:
        return Me._part(root, info, "library", "circulation")

    def resolve_loans(root, info):
        return [_loan(l) for l in Me._circulation(root, info)["loans"]]

    def resolve_holds(root, info):
        return [Hold.of(h) for h in Me._circulation(root, info)["holds"]]

    def _learning(root, info) -> dict:
        return Me._part(root, info, "elearning", "learning")

    def resolve_enrolments(root, info):
        out = []
        for e in Me._learning(root, info)["enrolments"]:
            out.append(Enrolment(
                course_id=e["course_id"], course_title=e.get("course_title"), completed=bool(e["completed"]),
                lessons_completed=e.get("lessons_completed"), last_activity=e.get("last_activity"),
                enrolled_at=e.get("enrolled_at"),
                lessons=[LessonProgress(lesson_id=p["lesson_id"], position=p["position"], percent=p["percent"],
                                        completed=p["completed"], updated_at=p["at"], channel=p["channel"])
                         for p in e.get("lessons", [])]))
        return out

    def resolve_credits(root, info):
        return Me._learning(root, info)["credits"]

    def resolve_children(root, info):
        return [_child(c) for c in Me._part(root, info, "elearning", "children")]

    def resolve_message_threads(root, info):
        return [_thread(t) for t in Me._part(root, info, "elearning", "threads")]

    def resolve_thread(root, info, id):
        t = calls(info).call("elearning", "thread_messages", guardian(root.who), id)
        me = ("guardian", root.id)
        return _thread(t, ThreadWithMessages, messages=[
            Message(id=m["message_id"], text=m["text"], at=m["at"], author_role=m["author"]["role"],
                    from_me=(m["author"]["role"], m["author"]["id"]) == me, seen=bool(m.get("read_by")))
            for m in t["messages"]])

    def resolve_certificate(root, info, course_id):
        name = Me._profile(root, info)["name"]
        found = calls(info).call("elearning", "completion_certificate", root.id, course_id, name)
        return Certificate(number=found["number"], html=found["html"])

    def resolve_access_log(root, info, limit):
        limit = page_size(limit, PAGE_CAPS["Me.accessLog"])
        found = Me._part(root, info, "community", "access_log", limit=limit)[:limit]
        return [RecordAccess(at=e["at"], by=e["by"], committee=place(info, e["committee"]) if e.get("committee") else None,
                             purpose=e["purpose"], purpose_text=e["purpose_text"], case_id=e.get("case_id"))
                for e in found]

    def resolve_library_card(root, info):
        card = Me._part(root, info, "library", "card")
        return LibraryCard.of(card) if card else None


# The part of which service's overview each field of `me` needs: each service is asked once,
# for the parts the query selects, and all are asked at once.
ME_FIELD_PARTS = {
    "name": ("community", "profile"), "idNumberMasked": ("community", "profile"),
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


class Course(graphene.ObjectType):
    id = graphene.ID(required=True)
    title = graphene.String(required=True)
    provider = graphene.String()
    subjects = graphene.List(graphene.NonNull(graphene.String), required=True)
    credits = graphene.Int()
    channels = graphene.List(graphene.NonNull(graphene.String), required=True, description="tv, mobile, web")


class TvSlot(graphene.ObjectType):
    channel = graphene.String(required=True)
    starts_at = graphene.String(required=True)
    minutes = graphene.Int()
    course_title = graphene.String(required=True)
    lesson_title = graphene.String(required=True)


class CaseQueuePage(graphene.ObjectType):
    cases = graphene.List(graphene.NonNull(Case), required=True)
    next_cursor = graphene.String(description="pass as `after` for the next page; null on the last page")


class Query(graphene.ObjectType):
    health = graphene.List(graphene.NonNull(ServiceHealth), required=True,
                           description="Each service's health, asked of all services at once")
    me = graphene.Field(Me, description="The signed-in resident")
    matters = graphene.List(graphene.NonNull(Matter), required=True, description="The public matter catalogue")
    places = graphene.List(graphene.NonNull(Place), required=True, kind=graphene.String())
    case = graphene.Field(Case, id=graphene.ID(required=True))
    catalogue = graphene.List(graphene.NonNull(CatalogueTitle), required=True, text=graphene.String(),
                              isbn=graphene.String(), first=graphene.Int(default_value=20),
                              description="Search titles by words of title, author or subject, or by ISBN; "
                                          "with availability per location")
    courses = graphene.List(graphene.NonNull(Course), required=True, subject=graphene.String(),
                            provider=graphene.String(), channel=graphene.String(),
                            description="Lifelong-learning courses by subject, provider and channel")
    tv_guide = graphene.List(graphene.NonNull(TvSlot), required=True, day=graphene.String(required=True),
                             description="The TV programme guide of a day (YYYY-MM-DD)")
    staff_queue = graphene.Field(CaseQueuePage, status=graphene.String(), matter_code=graphene.String(),
                                 after=graphene.String(), first=graphene.Int(default_value=20),
                                 committee=graphene.String(description="admins only; staff see their own"),
                                 description="Open cases of the signed-in clerk's committee, by deadline")

    def resolve_health(root, info):
        c = calls(info)
        pending = {s: c.start(s, "health") for s in SERVICES}
        out = []
        for service, reply in pending.items():
            try:
                report = reply.result()
                detail = "; ".join(f"{k}: {v}" for k, v in report.get("detail", {}).items()) or None
                out.append(ServiceHealth(service=service, status=report["status"], broker=report["broker"],
                                         store=report["store"], detail=detail))
            except Exception as exc:  # noqa: BLE001 - any failure means: not available
                out.append(ServiceHealth(service=service, status="unavailable", detail=str(exc)))
        return out

    def resolve_me(root, info):
        who = principal(info, *RESIDENT_ROLES)
        me = Me(id=who.subject)
        me.actor, me.who = actor(who), who
        _start_me_calls(info, me)
        return me

    def resolve_matters(root, info):
        return [Matter(code=m["code"], name=m["name"], jurisdiction=m["jurisdiction"], materials=m["materials"],
                       promised_days=m["promised_days"], description=m.get("description"))
                for m in calls(info).call("community", "list_matters")]

    def resolve_places(root, info, kind=None):
        return [Place(code=p["code"], name=p["name"], kind=p["kind"])   # the list asked for: read fresh
                for p in calls(info).call("community", "list_places") if kind is None or p["kind"] == kind]

    def resolve_courses(root, info, subject=None, provider=None, channel=None):
        return [Course(id=c["course_id"], title=c["title"], provider=c.get("provider"), subjects=c["subjects"],
                       credits=c.get("credits"), channels=c["channels"])
                for c in calls(info).call("elearning", "search_courses", subject, provider, channel, 50)]

    def resolve_tv_guide(root, info, day):
        return [TvSlot(channel=t["channel"], starts_at=t["starts_at"], minutes=t.get("minutes"),
                       course_title=t["course_title"], lesson_title=t["lesson_title"])
                for t in calls(info).call("elearning", "tv_guide", day)]

    def resolve_catalogue(root, info, first, text=None, isbn=None):
        found = calls(info).call("library", "search", text, isbn, page_size(first, PAGE_CAPS["Query.catalogue"]))
        return [CatalogueTitle(id=t["title_id"], title=t["title"], authors=t["authors"], subjects=t["subjects"],
                               isbn=t.get("isbn"), availability=[Availability(**a) for a in t["availability"]])
                for t in found]

    def resolve_case(root, info, id):
        who = principal(info)
        return Case.of(calls(info).call("community", "get_case", actor(who), id))

    def resolve_staff_queue(root, info, first, status=None, matter_code=None, after=None, committee=None):
        who = principal(info, *STAFF_ROLES)
        page = calls(info).call("community", "staff_queue", actor(who), committee, status, matter_code, after,
                                page_size(first, PAGE_CAPS["Query.staffQueue"]))
        return CaseQueuePage(cases=[Case.of(c) for c in page["cases"]], next_cursor=page["next"])


# ---- mutations -------------------------------------------------------------------------

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
        who = principal(info)
        request = {"case_id": case_id, "action": action.value if hasattr(action, "value") else action,
                   **{k: v for k, v in kwargs.items() if v is not None}}
        return Case.of(calls(info).call("community", "act_on_case", actor(who), request))


class RegisteredResident(graphene.ObjectType):
    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    id_number_masked = graphene.String(required=True)
    registered_committee = graphene.String()
    residence_committee = graphene.String(required=True)


class RegisterResident(graphene.Mutation):
    """Staff register a resident at a desk."""

    class Arguments:
        id_number = graphene.String(required=True)
        name = graphene.String(required=True)
        phone = graphene.String()
        registered_committee = graphene.String(description="omit when registered outside the district")
        residence_committee = graphene.String(required=True)
        address = graphene.String(required=True)

    Output = RegisteredResident

    def mutate(root, info, **kwargs):
        principal(info, *STAFF_ROLES)
        r = calls(info).call("community", "register_resident", kwargs)
        return RegisteredResident(id=r["resident_id"], name=r["name"], id_number_masked=r["id_number_masked"],
                                  registered_committee=r["registered_committee"],
                                  residence_committee=r["residence_committee"])


class RenewLoan(graphene.Mutation):
    """Renew one of my loans (refused while another patron holds the title, or past the limit)."""

    class Arguments:
        barcode = graphene.String(required=True)

    Output = Loan

    def mutate(root, info, barcode):
        who = principal(info, *RESIDENT_ROLES)
        return _loan(calls(info).call("library", "renew", who.subject, barcode))


class PlaceHold(graphene.Mutation):
    """Join the queue for a title, to collect it at a library or branch."""

    class Arguments:
        title_id = graphene.ID(required=True)
        pickup = graphene.String(required=True)

    Output = Hold

    def mutate(root, info, title_id, pickup):
        who = principal(info, *RESIDENT_ROLES)
        return Hold.of(calls(info).call("library", "place_hold", who.subject, title_id, pickup))


class CancelHold(graphene.Mutation):
    class Arguments:
        hold_id = graphene.ID(required=True)

    Output = Hold

    def mutate(root, info, hold_id):
        who = principal(info, *RESIDENT_ROLES)
        return Hold.of(calls(info).call("library", "cancel_hold", who.subject, hold_id))


class SetLibraryPin(graphene.Mutation):
    """Set the PIN of my library card, asked by self-check machines: 4 to 8 digits, not an
    easy one (0000, 1234...). Stored only hashed; it also lifts a block after wrong PINs."""

    class Arguments:
        pin = graphene.String(required=True)

    Output = LibraryCard

    def mutate(root, info, pin):
        who = principal(info, *RESIDENT_ROLES)
        return LibraryCard.of(calls(info).call("library", "set_patron_pin", who.subject, pin, who.subject))


class Enrol(graphene.Mutation):
    class Arguments:
        course_id = graphene.ID(required=True)

    Output = Enrolment

    def mutate(root, info, course_id):
        who = principal(info, *RESIDENT_ROLES)
        e = calls(info).call("elearning", "enrol", who.subject, course_id)
        return Enrolment(course_id=e["course_id"], completed=bool(e.get("completed")), enrolled_at=e.get("enrolled_at"))


class ProgressResult(graphene.ObjectType):
    applied = graphene.Boolean(required=True, description="false when an newer report was already recorded")
    course_completed = graphene.Boolean(required=True)


class RecordProgress(graphene.Mutation):
    """Progress on a lesson from this device; resumes on any other."""

    class Arguments:
        course_id = graphene.ID(required=True)
        lesson_id = graphene.ID(required=True)
        position = graphene.Int()
        percent = graphene.Int()
        completed = graphene.Boolean()
        at = graphene.String(required=True, description="ISO 8601 with a time zone")
        channel = graphene.String(default_value="web")

    Output = ProgressResult

    def mutate(root, info, course_id, lesson_id, at, channel, position=0, percent=0, completed=False):
        who = principal(info, *RESIDENT_ROLES)
        r = calls(info).call("elearning", "record_progress", who.subject, {
            "course_id": course_id, "lesson_id": lesson_id, "position": position or 0, "percent": percent or 0,
            "completed": bool(completed), "at": at, "channel": channel})
        return ProgressResult(applied=r["applied"], course_completed=bool(r["course_completed"]))


class WalletOutcome(graphene.ObjectType):
    status = graphene.String()
    balance_fen = graphene.Int()


class TopUpWallet(graphene.Mutation):
    """A guardian tops up a child's wallet; ``paymentRef`` makes a retry harmless."""

    class Arguments:
        student_id = graphene.ID(required=True)
        amount_fen = graphene.Int(required=True)
        payment_ref = graphene.String(required=True)

    Output = WalletOutcome

    def mutate(root, info, student_id, amount_fen, payment_ref):
        who = principal(info, *RESIDENT_ROLES)
        r = calls(info).call("elearning", "wallet_top_up", who.subject, student_id, amount_fen, payment_ref)
        return WalletOutcome(status=r.get("status", "applied"), balance_fen=r.get("balance_fen"))


class SetWalletLimits(graphene.Mutation):
    class Arguments:
        student_id = graphene.ID(required=True)
        per_payment_fen = graphene.Int(description="null lifts the limit")
        daily_fen = graphene.Int(description="null lifts the limit")

    Output = WalletOutcome

    def mutate(root, info, student_id, per_payment_fen=None, daily_fen=None):
        who = principal(info, *RESIDENT_ROLES)
        r = calls(info).call("elearning", "wallet_set_limits", who.subject, student_id, per_payment_fen, daily_fen)
        return WalletOutcome(status="limits set", balance_fen=r.get("balance_fen"))


class FreezeWallet(graphene.Mutation):
    class Arguments:
        student_id = graphene.ID(required=True)
        frozen = graphene.Boolean(required=True)

    Output = WalletOutcome

    def mutate(root, info, student_id, frozen):
        who = principal(info, *RESIDENT_ROLES)
        method = "wallet_freeze" if frozen else "wallet_unfreeze"
        r = calls(info).call("elearning", method, who.subject, student_id)
        return WalletOutcome(status="frozen" if frozen else "unfrozen", balance_fen=r.get("balance_fen"))


class PostMessage(graphene.Mutation):
    """A guardian writes to their child's class teacher: in a thread, or a new one about the child."""

    class Arguments:
        text = graphene.String(required=True)
        thread_id = graphene.ID()
        student_id = graphene.ID()

    Output = Thread

    def mutate(root, info, text, thread_id=None, student_id=None):
        who = principal(info, *RESIDENT_ROLES)
        m = calls(info).call("elearning", "post_message", guardian(who), text, thread_id, student_id)
        return Thread(id=m.get("thread_id"), student_id=m.get("student_id"), last_message_at=m.get("posted_at"),
                      unread=False)


class MarkThreadRead(graphene.Mutation):
    """A guardian marks a thread about one of their children read (up to now)."""

    class Arguments:
        thread_id = graphene.ID(required=True)

    Output = Thread

    def mutate(root, info, thread_id):
        who = principal(info, *RESIDENT_ROLES)
        marked = calls(info).call("elearning", "mark_read", guardian(who), thread_id)
        return Thread(id=marked["thread_id"], last_read_at=marked["read_at"], unread=False)


class Mutation(graphene.ObjectType):
    submit_case = SubmitCase.Field()
    enrol = Enrol.Field()
    record_progress = RecordProgress.Field()
    top_up_wallet = TopUpWallet.Field()
    set_wallet_limits = SetWalletLimits.Field()
    freeze_wallet = FreezeWallet.Field()
    post_message = PostMessage.Field()
    mark_thread_read = MarkThreadRead.Field()
    renew_loan = RenewLoan.Field()
    place_hold = PlaceHold.Field()
    cancel_hold = CancelHold.Field()
    set_library_pin = SetLibraryPin.Field()
    act_on_case = ActOnCase.Field()
    register_resident = RegisterResident.Field()


schema = graphene.Schema(query=Query, mutation=Mutation)
