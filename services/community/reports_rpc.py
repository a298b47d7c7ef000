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
        (YYYY-MM; the last twelve by default) in the asker's scope, or the sub-district they pick:
        a row per sub-district for the district, per committee (and the centre) for one."""
        who = cases.actor_of(actor)
        if report not in reports.REPORTS:
            raise BadInput(f"unknown report {report!r}; the community's are {', '.join(reports.REPORTS)}")
        places = places_store.places(self.db, "subdistrict") + places_store.places(self.db, "committee")
        chosen, units = reports.scope(who, places, subdistrict)
        since, until = report_tables.period(since, until)
        names = reports.place_names(places, chosen)
        if report == "away":
            committees = {p["_id"]: p.get("parent") for p in places if p["kind"] == "committee"}
            return reports.away_table(*reports_store.away(self.db), units, committees, names, chosen)
        groups = reports_store.grouped(self.db, {"cases": "cases", "timeliness": "closed", "ratings": "rated"}[report],
                                       since, until, chosen)
        if report == "cases":
            matters = {m["_id"]: m["name"] for m in places_store.matters(self.db, include_internal=True)}
            return reports.cases_table(groups, units, names, matters, since, until, chosen)
        table = reports.timeliness_table if report == "timeliness" else reports.ratings_table
        return table(groups, units, names, since, until, chosen)
