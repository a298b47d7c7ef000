"""Residents: the community service's RPCs (a mixin of ``CommunityService``, which gives
``self.db`` and ``self.request_key``). The rules are in ``residents``, the store in
``residents_store``."""
from __future__ import annotations

from pydantic import ValidationError

from contracts.events.community import MoveDeclaredV1, ResidenceChangedV1, ResidentRegisteredV1
from contracts.rpc.community import (ChangePhoneV1, ChangeResidenceV1, CommunityOverviewPartsV1, ConfirmMoveV1,
                                     DeclareMoveV1, RegisterResidentV1, SetAsideMoveV1)
from services.common import clock, outbox, overview
from services.common.arguments import batch, checked_resident_id, page_limit
from services.common.errors import BadInput, Forbidden, NotFound
from services.common.rpc import rpc
from services.community import access_log, cases, moves, places_store, residents, residents_store


class ResidentEntrypoints:
    """Registering residents (one, or a batch of an import), reading them, moves."""

    @rpc
    def register_resident(self, request: dict) -> dict:
        req = RegisterResidentV1.model_validate(request)
        places_store.require_committees(self.db, req.registered_committee, req.residence_committee)
        resident = residents.new_resident(req, clock.today(), residents.resident_id_for(self.request_key))
        event = outbox.event(ResidentRegisteredV1.TYPE, residents.registered_event_data(resident),
                             subject=resident["_id"])
        return residents.public_view(residents_store.add(self.db, resident, event, keyed=bool(self.request_key)))

    @rpc
    def import_residents(self, rows: list[dict]) -> dict:
        """A batch of an import file: each row stored whole (with its event) or rejected
        with the reason; a rejected row writes nothing."""
        committees = places_store.committee_codes(self.db)
        docs, positions, rejected = [], [], []
        today = clock.today()
        for i, row in enumerate(batch(rows, "rows")):
            try:
                req = RegisterResidentV1.model_validate(
                    {k: (v if v != "" else None) for k, v in row.items()} if isinstance(row, dict) else row)
                for code in filter(None, (req.registered_committee, req.residence_committee)):
                    if code not in committees:
                        raise BadInput(f"unknown committee code {code!r}")
                resident = residents.new_resident(req, today, residents.resident_id_for(self.request_key, i))
            except (ValidationError, BadInput) as exc:
                rejected.append({"index": i, "reason": _reason(exc)})
                continue
            event = outbox.event(ResidentRegisteredV1.TYPE, residents.registered_event_data(resident),
                                 subject=resident["_id"])
            docs.append({**resident, **outbox.pending_fields([event])})
            positions.append(i)
        refused = residents_store.add_many(self.db, docs, keyed=bool(self.request_key))
        rejected += [{"index": positions[at], "reason": reason} for at, reason in refused]
        return {"imported": len(docs) - len(refused), "rejected": sorted(rejected, key=lambda r: r["index"])}

    @rpc
    def get_resident(self, resident_id: str) -> dict:
        return residents.public_view(residents_store.get(self.db, resident_id))

    @rpc
    def get_residents(self, resident_ids: list[str]) -> list[dict]:
        """Batch read: one call, whatever the number of ids; ids not known are left out."""
        ids = [checked_resident_id(i) for i in batch(resident_ids, "resident ids")]
        return [residents.public_view(r) for r in residents_store.profiles(self.db, ids)]

    @rpc
    def resident_overview(self, actor: dict, resident_id: str, parts: dict) -> dict:
        """One call for the gateway's ``me``: the parts asked (``CommunityOverviewPartsV1``),
        each as its single-purpose RPC computes and checks it; a part that fails its check
        fails alone (``services.common.overview``)."""
        who, rid = cases.actor_of(actor), checked_resident_id(resident_id)
        return overview.answer(overview.asked(parts, CommunityOverviewPartsV1), {
            "profile": lambda: self._profile(rid),
            "cases": lambda: self._cases_of(who, rid),
            "notices": lambda limit: self._notices(who, rid, limit),
            "access_log": lambda limit: self._access_log(who, rid, limit)})

    @rpc
    def find_resident(self, id_number: str, actor: dict | None = None) -> dict:
        """A desk looks a resident up by the ID number they present (logged for the resident
        when staff do it; imports pass no actor)."""
        doc = residents_store.by_id_number(self.db, residents.normalise_id_number(str(id_number)))
        if doc is None:
            raise NotFound("no resident with this ID number")
        if actor is not None:
            who = cases.actor_of(actor)
            if who.role == "supervisor":   # reads the cases in scope, not the register
                raise Forbidden("a resident is looked up at a desk")
            access_log.record(self.db, doc["_id"], who, "lookup", clock.now())
        return residents.public_view(doc)

    @rpc
    def get_access_log(self, actor: dict, resident_id: str, limit: int = 50) -> list[dict]:
        """Who on the staff side opened this resident's record: for the resident, or an admin."""
        return self._access_log(cases.actor_of(actor), str(resident_id), limit)

    @rpc
    def change_residence(self, actor: dict, request: dict) -> dict:
        """A move recorded by a clerk at a desk (any desk: 全区通办; the resident present with
        proof): declared and confirmed by that clerk in the resident's history."""
        who = cases.actor_of(actor)
        req = ChangeResidenceV1.model_validate(request)
        if who.role not in ("staff", "admin", "system"):
            raise Forbidden("a move of residence is recorded by staff at a desk")
        places_store.require_committees(self.db, req.residence_committee)
        doc = residents_store.get(self.db, req.resident_id)
        new = moves.recorded_at_desk(doc, req.residence_committee, req.address, req.moved_on, who, clock.now(),
                                     clock.today(), moves.new_move_id())
        self._save_move(doc, new)
        access_log.record(self.db, doc["_id"], who, "action", clock.now())
        return residents.public_view(new)

    @rpc
    def declare_move(self, actor: dict, request: dict) -> dict:
        """A resident declares their new residence (in the portal); it waits for a clerk of that
        committee (``confirm_move``). Answers the resident's residence view."""
        who, req = cases.actor_of(actor), DeclareMoveV1.model_validate(request)
        if who.role not in ("resident", "guardian") or who.id != req.resident_id:
            raise Forbidden("residents declare their own new residence")
        if not places_store.committee_exists(self.db, req.residence_committee):
            raise BadInput(f"本区没有这个社区（{req.residence_committee}）：请从列表中选择居住地所在的居委会或村委会。"
                           f" (unknown committee code {req.residence_committee!r})")
        doc = residents_store.get(self.db, req.resident_id)
        pending = moves.declaration(doc, req.residence_committee, req.address, req.moved_on, who, clock.now(),
                                    clock.today(), moves.new_move_id())
        event = outbox.event(MoveDeclaredV1.TYPE, moves.declared_event_data(doc, pending), subject=doc["_id"])
        residents_store.declare(self.db, doc["_id"], pending, moves.pending_key(doc, pending), event)
        return moves.residence_view({**doc, "pending_move": pending}, who)

    @rpc
    def confirm_move(self, actor: dict, request: dict) -> dict:
        """A clerk of the declared committee confirms a resident's declaration: the residence
        changes, the move goes into the history with who declared and who confirmed it."""
        who, req = cases.actor_of(actor), ConfirmMoveV1.model_validate(request)
        if who.role not in ("staff", "admin"):
            raise Forbidden("a declaration is confirmed by a clerk of the new residence committee")
        doc = residents_store.get(self.db, checked_resident_id(req.resident_id))
        new = moves.confirmed(doc, who, clock.now(), clock.today(), req.move_id)
        self._save_move(doc, new)
        access_log.record(self.db, doc["_id"], who, "action", clock.now())
        return moves.residence_view(new, who)

    @rpc
    def set_aside_move(self, actor: dict, request: dict) -> dict:
        """The resident withdraws their declaration, or a clerk of the declared committee returns
        it (退回) with a reason the resident reads; the resident may declare again."""
        who, req = cases.actor_of(actor), SetAsideMoveV1.model_validate(request)
        doc = residents_store.get(self.db, checked_resident_id(req.resident_id))
        fields = moves.set_aside(doc, who, req.reason, clock.now(), req.move_id)
        residents_store.set_aside(self.db, doc["_id"], doc["pending_move"]["move_id"], fields)
        if who.is_staff:
            access_log.record(self.db, doc["_id"], who, "action", clock.now())
        return moves.residence_view({**doc, **fields}, who)

    @rpc
    def my_residence(self, actor: dict, resident_id: str) -> dict:
        """Where a resident lives, their declaration waiting and every move: for the resident."""
        who = cases.actor_of(actor)
        if who.role != "admin" and (who.role not in ("resident", "guardian") or who.id != resident_id):
            raise Forbidden("residents read their own residence")
        return moves.residence_view(residents_store.get(self.db, checked_resident_id(resident_id)), who)

    @rpc
    def living_here(self, actor: dict, committee: str | None = None, after: str | None = None,
                    limit: int = 50) -> dict:
        """The residence committee's list: living here, registered elsewhere (人户分离)."""
        return self._away_list(actor, "living_here", committee, after, limit)

    @rpc
    def registered_here(self, actor: dict, committee: str | None = None, after: str | None = None,
                        limit: int = 50) -> dict:
        """The registration committee's list: registered here, living elsewhere (人户分离)."""
        return self._away_list(actor, "registered_here", committee, after, limit)

    @rpc
    def moves_to_confirm(self, actor: dict, committee: str | None = None, after: str | None = None,
                         limit: int = 50) -> dict:
        """Declarations waiting for the committee's confirmation, oldest first."""
        who = cases.actor_of(actor)
        committee = moves.may_list(who, committee)
        page, cursor = residents_store.pending_for(self.db, committee, _cursor(after), page_limit(limit, LIST_MAX))
        return {"rows": [moves.pending_row(r, who) for r in page], "next": cursor}

    @rpc
    def change_phone(self, actor: dict, request: dict) -> dict:
        """A resident changes their own phone number; staff may at a desk (in the access log)."""
        who, req = cases.actor_of(actor), ChangePhoneV1.model_validate(request)
        if who.role in ("resident", "guardian") and who.id != req.resident_id:
            raise Forbidden("residents change their own phone number")
        if who.role in ("system", "centre", "supervisor"):   # a centre handles cases, a supervisor reads them
            raise Forbidden("a phone number is changed by the resident or at a desk")
        doc = residents_store.set_phone(self.db, checked_resident_id(req.resident_id), req.phone)
        access_log.record(self.db, doc["_id"], who, "action", clock.now())
        return residents.public_view(doc)

    def _away_list(self, actor: dict, side: str, committee: str | None, after: str | None, limit: int) -> dict:
        who = cases.actor_of(actor)
        committee = moves.may_list(who, committee)
        page, cursor = residents_store.listed(self.db, moves.SIDES[side], committee, _cursor(after),
                                              page_limit(limit, LIST_MAX))
        access_log.record_residents(self.db, [r["_id"] for r in page], who, "list", clock.now())
        return {"rows": [moves.away_row(r, side) for r in page], "next": cursor}

    def _save_move(self, doc: dict, new: dict) -> None:
        event = outbox.event(ResidenceChangedV1.TYPE, moves.changed_event_data(doc, new), subject=doc["_id"])
        residents_store.move(self.db, doc, new, event)

    # ---- parts of a resident's overview, also answered alone ---------------------------

    def _profile(self, resident_id: str) -> dict:
        found = residents_store.profiles(self.db, [resident_id])
        if not found:
            raise NotFound(f"no resident {resident_id}")
        return residents.public_view(found[0])

    def _access_log(self, who: cases.Actor, resident_id: str, limit: int) -> list[dict]:
        if who.role != "admin" and (who.role not in ("resident", "guardian") or who.id != resident_id):
            raise Forbidden("residents read their own access log")
        return access_log.for_resident(self.db, resident_id, limit)


LIST_MAX = 100


def _cursor(after) -> str | None:
    return str(after)[:200] if after else None


def _reason(exc: Exception) -> str:
    """Why an import row was rejected: the first few problems of its validation."""
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'row'}: {e['msg']}" for e in exc.errors()[:3])
    return str(exc)
