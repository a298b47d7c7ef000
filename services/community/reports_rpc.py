"""The community service's reports for supervisors and sub-district centres (a mixin of
``CommunityService``): cases by matter, committee and month; on-time rate and median handling
days; ratings; residents living away from their registration. The scope and the tables are the
rules in ``reports``; each figure is one aggregation of ``reports_store``."""
from __future__ import annotations

from services.common import report_tables
from services.common.errors import BadInput
from services.common.rpc import rpc
from services.community import cases, places_store, reports, reports_store


class ReportEntrypoints:
    """One RPC answers every community report by name."""

    @rpc
    def community_report(self, actor: dict, report: str, since: str | None = None, until: str | None = None,
                         subdistrict: str | None = None) -> dict:
        """The report ``report`` (``reports.REPORTS``) over the months ``since``..``until``
        (YYYY-MM; the last twelve by default) in the asker's scope, or the sub-district they pick."""
        who = cases.actor_of(actor)
        if report not in reports.REPORTS:
            raise BadInput(f"unknown report {report!r}; the community's are {', '.join(reports.REPORTS)}")
        places = places_store.places(self.db, "subdistrict") + places_store.places(self.db, "committee")
        chosen, members = reports.scope(who, places, subdistrict)
        since, until = report_tables.period(since, until)
        names = reports.place_names(places)
        if report == "cases":
            matters = {m["_id"]: m["name"] for m in places_store.matters(self.db, include_internal=True)}
            # {code: its sub-district} of every place a case is accepted at (a desk's parent)
            every = {p["_id"]: (p["_id"] if p["kind"] == "subdistrict" else p.get("parent")) for p in places}
            return reports.cases_table(*reports_store.cases_by_month(self.db, since, until), members, every, names,
                                       matters, since, until, chosen)
        if report == "timeliness":
            return reports.timeliness_table(reports_store.closed_by_days(self.db, since, until), members, names,
                                            since, until, chosen)
        if report == "ratings":
            return reports.ratings_table(reports_store.ratings(self.db, since, until), members, names,
                                         since, until, chosen)
        living, registered = reports_store.away(self.db)
        return reports.away_table(living, registered, members, names, chosen)
