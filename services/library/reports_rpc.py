"""The library's reports for the district's supervisors (a mixin of ``LibraryService``): loans
by location and hour, kiosks' uptime and conflicts, digital and popular-science use by provider.
Tables in ``reports``, groups in ``reports_store`` (the use: ``popsci_actions.usage_statistics``)."""
from __future__ import annotations

from services.common import clock, report_tables
from services.common.errors import BadInput
from services.common.rpc import rpc
from services.library import locations_store, popsci_actions, reports, reports_store


class ReportEntrypoints:
    """One RPC answers every library report by name."""

    @rpc
    def library_report(self, actor: dict, report: str, since: str | None = None, until: str | None = None) -> dict:
        """The report ``report`` (``reports.REPORTS``) over the months ``since``..``until``."""
        report_tables.check_district_reader(actor)
        if report not in reports.REPORTS:
            raise BadInput(f"unknown report {report!r}; the library's are {', '.join(reports.REPORTS)}")
        since, until = report_tables.period(since, until)
        low, high = report_tables.utc_bounds(since, until)
        names = {loc["_id"]: loc.get("name") or loc["_id"] for loc in locations_store.every(self.db)}
        if report == "loans":
            return reports.loans_table(reports_store.loans(self.db, since, until), names, since, until)
        if report == "digital":
            return reports.digital_table(popsci_actions.usage_statistics(self.db, actor), since, until)
        return reports.kiosks_table(reports_store.kiosks(self.db), reports_store.hours_heard(self.db, low, high),
                                    reports_store.conflicts(self.db, low, high), names, since, until, clock.now())
