"""The root ``Query``: the services' health, ``me``, the public catalogues (matters,
places, library titles, courses, the TV guide), one case, the staff queue, for supervisors
and sub-district centres the red and yellow counts, and for librarians the library conflicts
and the kiosks' health."""
from __future__ import annotations

import graphene

from gateway.schema.asking import (CASE_READERS, LIBRARY_ROLES, RESIDENT_ROLES, STAFF_ROLES, SUPERVISION_ROLES, actor,
                                   as_resident, calls, enum_value, principal)
from gateway.schema.community import Case, CaseQueuePage, Matter
from gateway.schema.learning import Course, TvSlot
from gateway.errors import BadRequest
from gateway.schema.library import (CatalogueTitle, DigitalShelf, KioskHealth, LibraryConflict, LibraryConflictDetail,
                                    LibraryConflictKind, LibraryConflictPage, LibraryConflictStatus, LibraryLocation,
                                    PopularScienceItem)
from gateway.schema.me import Me
from gateway.schema.paging import PAGE_CAPS, page_size
from gateway.schema.places import Place
from gateway.schema.residence import AwayResidentPage
from gateway.schema.supervision import SupervisionCounts
from services.common.config import SERVICES

PLACE_KINDS = ("subdistrict", "committee", "desk")   # contracts/rpc/community.py PlaceV1


class ServiceHealth(graphene.ObjectType):
    service = graphene.String(required=True)
    status = graphene.String(required=True, description="up, down (a part is down) or unavailable")
    broker = graphene.String()
    store = graphene.String()
    detail = graphene.String()


class Query(graphene.ObjectType):
    health = graphene.List(graphene.NonNull(ServiceHealth), required=True,
                           description="Each service's health, asked of all services at once")
    me = graphene.Field(Me, description="The signed-in resident")
    matters = graphene.List(graphene.NonNull(Matter), required=True, description="The public matter catalogue")
    places = graphene.List(graphene.NonNull(Place), required=True,
                           kind=graphene.String(description="subdistrict, committee or desk (library locations: "
                                                             "libraryLocations)"))
    case = graphene.Field(Case, id=graphene.ID(required=True))
    catalogue = graphene.List(graphene.NonNull(CatalogueTitle), required=True, text=graphene.String(),
                              isbn=graphene.String(), first=graphene.Int(default_value=20),
                              description="Search titles by words of title, author or subject, or by ISBN; "
                                          "with availability per location")
    courses = graphene.List(graphene.NonNull(Course), required=True, subject=graphene.String(),
                            provider=graphene.String(), channel=graphene.String(),
                            description="Lifelong-learning courses by subject, provider and channel")
    course = graphene.Field(Course, id=graphene.ID(required=True), description="One course with its lessons")
    popular_science = graphene.List(graphene.NonNull(PopularScienceItem), required=True,
                                    audience=graphene.String(description="children, teenagers, adults, elderly, "
                                                                         "families or everyone"),
                                    first=graphene.Int(default_value=20),
                                    description="Popular-science videos, articles and exhibitions shared by "
                                                "institutes and companies, published by the library's editors")
    digital_shelf = graphene.Field(DigitalShelf, required=True,
                                   description="My digital loans (they return themselves) and my digital holds")
    library_locations = graphene.List(graphene.NonNull(LibraryLocation), required=True,
                                      pickup=graphene.Boolean(description="only where holds can be collected"),
                                      description="The district's libraries, branches and 24-hour kiosks")
    tv_guide = graphene.List(graphene.NonNull(TvSlot), required=True, day=graphene.String(required=True),
                             description="The TV programme guide of a day (YYYY-MM-DD)")
    staff_queue = graphene.Field(CaseQueuePage, status=graphene.String(), matter_code=graphene.String(),
                                 after=graphene.String(), first=graphene.Int(default_value=20),
                                 committee=graphene.String(description="admins only; staff see their own"),
                                 description="Open cases of the signed-in clerk's committee, by deadline")
    residents_living_here = graphene.Field(
        AwayResidentPage, after=graphene.String(), first=graphene.Int(default_value=20),
        committee=graphene.String(description="admins only; staff see their own"),
        description="人户分离: residents living in the clerk's committee, registered elsewhere (ID numbers masked)")
    residents_registered_here = graphene.Field(
        AwayResidentPage, after=graphene.String(), first=graphene.Int(default_value=20),
        committee=graphene.String(description="admins only; staff see their own"),
        description="人户分离: residents registered in the clerk's committee, living elsewhere (no addresses)")
    moves_to_confirm = graphene.Field(
        AwayResidentPage, after=graphene.String(), first=graphene.Int(default_value=20),
        committee=graphene.String(description="admins only; staff see their own"),
        description="Declarations of a new residence in the clerk's committee waiting for confirmation (confirmMove)")
    library_conflicts = graphene.Field(
        LibraryConflictPage, status=LibraryConflictStatus(description="open (the default) or resolved"),
        kind=LibraryConflictKind(), location=graphene.String(description="a library location or kiosk code"),
        since=graphene.String(description="from this district day (YYYY-MM-DD)"),
        until=graphene.String(description="to this district day, included (YYYY-MM-DD)"),
        after=graphene.String(), first=graphene.Int(default_value=20),
        description="Librarians: what kiosks and self-check machines did that could not be applied, oldest "
                    "first, a page at a time")
    library_conflict = graphene.Field(LibraryConflictDetail, id=graphene.ID(required=True),
                                      description="Librarians: one conflict with the copy's loans around it")
    supervision = graphene.Field(SupervisionCounts, description="Supervisors and sub-district centres: open cases "
                                 "due soon (yellow) and overdue (red) per sub-district and committee in my scope")
    library_kiosks = graphene.List(graphene.NonNull(KioskHealth), required=True,
                                   description="Librarians: each kiosk's last event, open faults and open conflicts")

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
        return Me.asked_by(info, principal(info, *RESIDENT_ROLES))

    def resolve_matters(root, info):
        return [Matter.of(m) for m in calls(info).call("community", "list_matters")]

    def resolve_places(root, info, kind=None):
        if kind is not None and kind not in PLACE_KINDS:   # an empty list would look like a district without them
            raise BadRequest(f"kind is one of {', '.join(PLACE_KINDS)}; library locations are libraryLocations")
        return [Place.of(p)   # the list asked for: read fresh
                for p in calls(info).call("community", "list_places") if kind is None or p["kind"] == kind]

    def resolve_course(root, info, id):
        return Course.of(calls(info).call("elearning", "get_course", id))

    def resolve_digital_shelf(root, info):
        return DigitalShelf.of(as_resident(info, "library", "digital_shelf"))

    def resolve_library_locations(root, info, pickup=None):
        return [LibraryLocation.of(loc) for loc in calls(info).call("library", "list_locations")
                if not pickup or loc["pickup"]]

    def resolve_courses(root, info, subject=None, provider=None, channel=None):
        return [Course.of(c) for c in calls(info).call("elearning", "search_courses", subject, provider, channel, 50)]

    def resolve_popular_science(root, info, first, audience=None):
        found = calls(info).call("library", "popular_science", audience,
                                 page_size(first, PAGE_CAPS["Query.popularScience"]))
        return [PopularScienceItem.of(i) for i in found]

    def resolve_tv_guide(root, info, day):
        return [TvSlot.of(t) for t in calls(info).call("elearning", "tv_guide", day)]

    def resolve_catalogue(root, info, first, text=None, isbn=None):
        found = calls(info).call("library", "search", text, isbn, page_size(first, PAGE_CAPS["Query.catalogue"]))
        return [CatalogueTitle.of(t) for t in found]

    def resolve_case(root, info, id):
        who = principal(info, *RESIDENT_ROLES, *CASE_READERS)   # a librarian sees no resident's case
        return Case.of(calls(info).call("community", "get_case", actor(who), id))

    def resolve_staff_queue(root, info, first, status=None, matter_code=None, after=None, committee=None):
        who = principal(info, *CASE_READERS)
        page = calls(info).call("community", "staff_queue", actor(who), committee, status, matter_code, after,
                                page_size(first, PAGE_CAPS["Query.staffQueue"]))
        return CaseQueuePage(cases=[Case.of(c) for c in page["cases"]], next_cursor=page["next"])

    def resolve_residents_living_here(root, info, first, after=None, committee=None):
        return _away_page(info, "living_here", "Query.residentsLivingHere", first, after, committee)

    def resolve_residents_registered_here(root, info, first, after=None, committee=None):
        return _away_page(info, "registered_here", "Query.residentsRegisteredHere", first, after, committee)

    def resolve_moves_to_confirm(root, info, first, after=None, committee=None):
        return _away_page(info, "moves_to_confirm", "Query.movesToConfirm", first, after, committee)

    def resolve_library_conflicts(root, info, first, status=None, kind=None, location=None, since=None, until=None,
                                  after=None):
        principal(info, *LIBRARY_ROLES)
        filters = {k: v for k, v in (("kind", enum_value(kind)), ("location", location), ("since", since),
                                     ("until", until)) if v is not None}
        page = calls(info).call("library", "conflicts", enum_value(status) or "open", after,
                                page_size(first, PAGE_CAPS["Query.libraryConflicts"]), filters)
        return LibraryConflictPage(conflicts=[LibraryConflict.of(c) for c in page["conflicts"]],
                                   next_cursor=page["next"])

    def resolve_library_conflict(root, info, id):
        principal(info, *LIBRARY_ROLES)
        return LibraryConflictDetail.of(calls(info).call("library", "conflict", id))

    def resolve_supervision(root, info):
        who = principal(info, *SUPERVISION_ROLES)
        return SupervisionCounts.of(calls(info).call("community", "supervision_counts", actor(who)))

    def resolve_library_kiosks(root, info):
        principal(info, *LIBRARY_ROLES)
        return [KioskHealth.of(k) for k in calls(info).call("library", "kiosk_status")]


def _away_page(info, rpc: str, cap: str, first, after, committee) -> AwayResidentPage:
    who = principal(info, *STAFF_ROLES)
    return AwayResidentPage.of(calls(info).call("community", rpc, actor(who), committee, after,
                                                page_size(first, PAGE_CAPS[cap])))
