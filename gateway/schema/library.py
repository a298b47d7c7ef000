"""The library service's types: my library card, loans and holds, the catalogue with its
availability per location and its digital editions, my digital shelf and reading links; for librarians, the conflicts kiosks and machines left."""
from __future__ import annotations

import graphene

from contracts.rpc.library import CONFLICT_ACTIONS, CONFLICT_KINDS, CONFLICT_STATUSES, DIGITAL_LICENCES
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


DigitalLicenceModel = graphene.Enum("DigitalLicenceModel", [(m.upper(), m) for m in DIGITAL_LICENCES])


class DigitalResource(graphene.ObjectType):
    """A title's digital edition: an e-book, audio or video, and who may read it."""
    kind = graphene.String(required=True, description="ebook, audio or video")
    content_type = graphene.String(required=True)
    size = graphene.Int(required=True, description="bytes")
    licence = graphene.Field(DigitalLicenceModel, required=True,
                             description="OPEN: anyone; ONE_READER: borrowed, one reader per licence copy; "
                                         "UNLIMITED: any library card holder")
    copies = graphene.Int(description="licence copies (ONE_READER)")
    available = graphene.Int(description="licence copies free now (ONE_READER)")
    loan_days = graphene.Int(description="how long a loan lasts (ONE_READER); it returns itself")

    @staticmethod
    def of(d: dict | None) -> "DigitalResource | None":
        return None if d is None else DigitalResource(
            kind=d["kind"], content_type=d["content_type"], size=d["size"], licence=d["licence"],
            copies=d.get("copies"), available=d.get("available"), loan_days=d.get("loan_days"))


class CatalogueTitle(graphene.ObjectType):
    id = graphene.ID(required=True)
    title = graphene.String(required=True)
    authors = graphene.List(graphene.NonNull(graphene.String), required=True)
    subjects = graphene.List(graphene.NonNull(graphene.String), required=True)
    isbn = graphene.String()
    availability = graphene.List(graphene.NonNull(Availability), required=True)
    digital = graphene.Field(DigitalResource, description="its digital edition, if it has one")

    @staticmethod
    def of(t: dict) -> "CatalogueTitle":
        return CatalogueTitle(id=t["title_id"], title=t["title"], authors=t["authors"], subjects=t["subjects"],
                              isbn=t.get("isbn"), availability=[Availability(**a) for a in t["availability"]],
                              digital=DigitalResource.of(t.get("digital")))


class PopularScienceItem(graphene.ObjectType):
    """A popular-science item an institute or company shared and an editor published: a video or
    an article (``resourceId``: read or played as a digital resource) or an exhibition (its dates
    and place)."""
    id = graphene.ID(required=True)
    kind = graphene.String(required=True, description="video, article or exhibition")
    title = graphene.String(required=True)
    description = graphene.String(required=True)
    provider = graphene.String(required=True, description="the institute or company")
    subjects = graphene.List(graphene.NonNull(graphene.String), required=True)
    audience = graphene.List(graphene.NonNull(graphene.String), required=True,
                             description="children, teenagers, adults, elderly, families, everyone")
    licence = graphene.String(required=True)
    starts_on = graphene.String()
    ends_on = graphene.String()
    place = graphene.String()
    resource_id = graphene.ID(description="the digital resource to open (openDigital); none for an exhibition")

    @staticmethod
    def of(i: dict) -> "PopularScienceItem":
        return PopularScienceItem(id=i["item_id"], kind=i["kind"], title=i["title"], description=i["description"],
                                  provider=i["provider_name"], subjects=i["subjects"], audience=i["audience"],
                                  licence=i["licence"], starts_on=i.get("starts_on"), ends_on=i.get("ends_on"),
                                  place=i.get("place"), resource_id=i.get("resource_id"))


class DigitalLoan(graphene.ObjectType):
    """A licence copy lent to me until ``due`` (an instant), when it returns itself."""
    resource_id = graphene.ID(required=True)
    title = graphene.String(required=True)
    kind = graphene.String(required=True)
    borrowed_at = graphene.String(required=True)
    due = graphene.String(required=True)

    @staticmethod
    def of(l: dict) -> "DigitalLoan":
        return DigitalLoan(resource_id=l["resource_id"], title=l["title"], kind=l["kind"], borrowed_at=l["borrowed_at"],
                           due=l["due"])


class DigitalShelf(graphene.ObjectType):
    """My digital loans, and my places in the queues of digital resources."""
    loans = graphene.List(graphene.NonNull(DigitalLoan), required=True)
    holds = graphene.List(graphene.NonNull(Hold), required=True)

    @staticmethod
    def of(s: dict) -> "DigitalShelf":
        return DigitalShelf(loans=[DigitalLoan.of(l) for l in s["loans"]], holds=[Hold.of(h) for h in s["holds"]])


class DigitalLink(graphene.ObjectType):
    """A link that reads the file for me alone, until ``expiresAt`` (byte ranges: audio and video play)."""
    url = graphene.String(required=True)
    expires_at = graphene.String(required=True)
    content_type = graphene.String(required=True)
    size = graphene.Int(required=True)

    @staticmethod
    def of(l: dict) -> "DigitalLink":
        return DigitalLink(url=l["url"], expires_at=l["expires_at"], content_type=l["content_type"], size=l["size"])


# ---- conflicts, for librarians ------------------------------------------------------------

LibraryConflictStatus = graphene.Enum("LibraryConflictStatus", [(s.upper(), s) for s in CONFLICT_STATUSES])
LibraryConflictKind = graphene.Enum("LibraryConflictKind", [(k.upper(), k) for k in CONFLICT_KINDS])
LibraryConflictAction = graphene.Enum("LibraryConflictAction", [(a.upper(), a) for a in CONFLICT_ACTIONS])


class ConflictEvent(graphene.ObjectType):
    """What a kiosk or self-check machine reported, that could not be applied."""
    id = graphene.ID(required=True)
    type = graphene.String(required=True)
    time = graphene.String(description="when the machine says it happened")
    barcode = graphene.String()
    card_masked = graphene.String(description="the patron's card, its middle hidden")

    @staticmethod
    def of(e: dict) -> "ConflictEvent":
        data = e.get("data") or {}
        return ConflictEvent(id=e.get("id", ""), type=e.get("type", ""), time=e.get("time"),
                             barcode=data.get("barcode"), card_masked=data.get("card_number"))


class ConflictAuditEntry(graphene.ObjectType):
    at = graphene.String(required=True)
    by = graphene.String(required=True, description="the librarian's login, or system")
    action = graphene.Field(LibraryConflictAction)
    note = graphene.String()

    @staticmethod
    def of(e: dict) -> "ConflictAuditEntry":
        return ConflictAuditEntry(at=e.get("at") or "", by=e.get("by") or "", action=e.get("action"),
                                  note=e.get("note"))


class LibraryConflict(graphene.ObjectType):
    """A kiosk's or self-check machine's action that could not be applied, kept for staff."""
    id = graphene.ID(required=True)
    status = graphene.Field(LibraryConflictStatus, required=True)
    kind = graphene.Field(LibraryConflictKind, required=True)
    barcode = graphene.String()
    source = graphene.String(description="the kiosk, or sip2:<machine login>")
    location = graphene.String(description="the location code where it happened")
    at = graphene.String(description="when it happened (UTC)")
    reason = graphene.String(required=True)
    event = graphene.Field(ConflictEvent, required=True)
    resolution = graphene.String()
    resolved_by = graphene.String()
    resolved_at = graphene.String()
    trail = graphene.List(graphene.NonNull(ConflictAuditEntry), required=True, description="who did what, oldest first")

    @staticmethod
    def of(c: dict) -> "LibraryConflict":
        resolved = c.get("resolved") or {}
        return LibraryConflict(id=c["conflict_id"], status=c["status"], kind=c["kind"], barcode=c.get("barcode"),
                               source=c.get("where"), location=c.get("place"), at=c.get("at"), reason=c["reason"],
                               event=ConflictEvent.of(c.get("event") or {}), resolution=c.get("resolution"),
                               resolved_by=resolved.get("by"), resolved_at=resolved.get("at"),
                               trail=[ConflictAuditEntry.of(e) for e in c.get("trail") or ()])


class ConflictLoan(graphene.ObjectType):
    """A loan of the conflict's copy: the other side of the event."""
    loan_id = graphene.ID()
    relation = graphene.String(required=True, description="before, during or after the event")
    current = graphene.Boolean(required=True, description="the copy's loan now")
    loaned_at = graphene.String()
    location = graphene.String()
    due = graphene.String()
    returned_at = graphene.String()
    returned_to = graphene.String()
    card_masked = graphene.String()
    same_card = graphene.Boolean(required=True, description="the card the event names")
    implied_return = graphene.Boolean(required=True, description="ended by a later machine's loan, not a scan")

    @staticmethod
    def of(loan: dict) -> "ConflictLoan":
        return ConflictLoan(**{k: loan.get(k) for k in ("loan_id", "relation", "loaned_at", "location", "due",
                                                          "returned_at", "returned_to", "card_masked")},
                            current=bool(loan.get("current")), same_card=bool(loan.get("same_card")),
                            implied_return=bool(loan.get("implied_return")))


class LibraryConflictDetail(graphene.ObjectType):
    """One conflict with both sides: its event and the copy's loans around it."""
    conflict = graphene.Field(LibraryConflict, required=True)
    title = graphene.String()
    copy_status = graphene.String()
    copy_location = graphene.String()
    loans = graphene.List(graphene.NonNull(ConflictLoan), required=True)

    @staticmethod
    def of(d: dict) -> "LibraryConflictDetail":
        copy = d.get("copy") or {}
        return LibraryConflictDetail(conflict=LibraryConflict.of(d), title=d.get("title"),
                                     copy_status=copy.get("status"), copy_location=copy.get("location"),
                                     loans=[ConflictLoan.of(loan) for loan in d.get("loans") or ()])


class LibraryConflictPage(graphene.ObjectType):
    conflicts = graphene.List(graphene.NonNull(LibraryConflict), required=True)
    next_cursor = graphene.String(description="pass as `after` for the next page; null on the last page")


# ---- the kiosks' health, for librarians ---------------------------------------------------

class KioskFault(graphene.ObjectType):
    code = graphene.String(required=True)
    since = graphene.String()
    last_reported = graphene.String()
    reports = graphene.Int(required=True)
    severity = graphene.String()


class KioskHealth(graphene.ObjectType):
    """A 24-hour kiosk as the library last heard from it."""
    kiosk_id = graphene.ID(required=True)
    status = graphene.String(required=True, description="online (heard from lately) or offline")
    last_seen = graphene.String(description="its last event (UTC)")
    open_faults = graphene.List(graphene.NonNull(KioskFault), required=True)
    open_conflicts = graphene.Int(required=True, description="its conflicts librarians have still to settle")
    clock_skew_seconds = graphene.Int(description="how far its clock was last found ahead")
    applied = graphene.Int(required=True)
    duplicates = graphene.Int(required=True)
    late = graphene.Int(required=True)
    conflicts = graphene.Int(required=True, description="its events that became conflicts, as counted so far")

    @staticmethod
    def of(k: dict) -> "KioskHealth":
        events = k.get("events") or {}
        return KioskHealth(kiosk_id=k["kiosk_id"], status=k.get("status") or "offline", last_seen=k.get("last_seen"),
                           open_faults=[KioskFault(code=f["code"], since=f.get("since"),
                                                   last_reported=f.get("last_reported"), reports=f.get("reports") or 1,
                                                   severity=f.get("severity")) for f in k.get("open_faults") or ()],
                           open_conflicts=k.get("open_conflicts") or 0,
                           clock_skew_seconds=(k.get("clock_skew") or {}).get("seconds"),
                           applied=events.get("applied", 0), duplicates=events.get("duplicate", 0),
                           late=events.get("late", 0), conflicts=events.get("conflict", 0))
