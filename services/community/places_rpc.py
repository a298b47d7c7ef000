"""The district's reference data: places, matters with their notice templates, and the
working-day calendar (a mixin of ``CommunityService``, which gives ``self.db``)."""
from __future__ import annotations

from contracts.rpc.community import MatterV1, PlaceV1
from services.common.arguments import batch
from services.common.errors import BadInput, Forbidden, NotFound
from services.common.rpc import rpc
from services.community import calendar_source, calendar_store, cases, matters, place_hierarchy, places_store


class PlaceEntrypoints:
    """Places (sub-districts, committees, desks), matters, the calendar."""

    @rpc
    def upsert_places(self, places: list[dict]) -> int:
        """Load sub-districts, committees and desks (idempotent by code). All or nothing:
        every place is checked before any is written."""
        checked = [PlaceV1.model_validate(p).model_dump() for p in batch(places, "places")]
        known = places_store.kinds_of(self.db, sorted({p["parent"] for p in checked if p["parent"]}))
        problems = place_hierarchy.problems(checked, known)
        if problems:
            raise BadInput("; ".join(problems[:5]))
        places_store.save_places(self.db, checked)
        return len(checked)

    @rpc
    def list_places(self, kind: str | None = None) -> list[dict]:
        return [{"code": p["_id"], "kind": p["kind"], "name": p["name"], "parent": p.get("parent"),
                 **{f: p[f] for f in places_store.OFFICE_FIELDS if p.get(f) is not None}}
                for p in places_store.places(self.db, kind)]

    @rpc
    def upsert_matters(self, matters: list[dict]) -> int:
        checked = [MatterV1.model_validate(m).model_dump() for m in batch(matters, "matters")]
        places_store.save_matters(self.db, checked)
        return len(checked)

    @rpc
    def list_matters(self, include_internal: bool = False) -> list[dict]:
        return [matters.view(m) for m in places_store.matters(self.db, include_internal)]

    @rpc
    def set_notice_template(self, actor: dict, matter_code: str, kind: str, source: str | None) -> dict:
        """Staff edit a matter's notice template; checked in the sandbox before it is saved."""
        if cases.actor_of(actor).role not in ("staff", "admin"):
            raise Forbidden("only staff may edit notice templates")
        matters.check_template(kind, source)
        matter = places_store.set_template(self.db, str(matter_code), kind, source)
        if matter is None:
            raise NotFound(f"no matter {matter_code}")
        return matters.view(matter)

    @rpc
    def load_calendar_year(self, schedule: dict) -> dict:
        try:
            year = calendar_source.from_json(schedule)
        except ValueError as exc:
            raise BadInput(str(exc)) from None
        calendar_store.save(self.db, year)
        return {"year": year.year, "holidays": len(year.holidays), "makeup_workdays": len(year.makeup_workdays),
                "deadlines_set": self._set_waiting_deadlines()}

    @rpc
    def calendar_years(self) -> list[int]:
        return list(calendar_store.load(self.db).years)
