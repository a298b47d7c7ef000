"""The e-learning service's reports for the district's supervisors (a mixin of
``ElearningService``): learners active, completions and credits; wallet spending per school.
Tables in ``reports``, groups in ``reports_store``."""
from __future__ import annotations

from services.common import report_tables
from services.common.errors import BadInput
from services.common.rpc import rpc
from services.elearning import reports, reports_store


class ReportEntrypoints:
    """One RPC answers every e-learning report by name."""

    @rpc
    def elearning_report(self, actor: dict, report: str, since: str | None = None,
                         until: str | None = None) -> dict:
        """The report ``report`` (``reports.REPORTS``) over the months ``since``..``until``."""
        report_tables.check_district_reader(actor)
        if report not in reports.REPORTS:
            raise BadInput(f"unknown report {report!r}; e-learning's are {', '.join(reports.REPORTS)}")
        since, until = report_tables.period(since, until)
        if report == "learning":
            low, high = report_tables.utc_bounds(since, until)
            return reports.learning_table(reports_store.progress(self.db, low, high),
                                          reports_store.credits(self.db, low, high), since, until)
        schools = reports_store.terminal_schools(self.db)
        groups = reports_store.wallet_spending(self.db, since, until)
        names = reports_store.school_names(self.db, sorted(set(schools.values())))
        return reports.wallet_table(groups, schools, names, since, until)
