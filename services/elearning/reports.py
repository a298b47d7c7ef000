"""The e-learning service's reports for the district's supervisors, free of I/O: per month, the
learners active (with any lesson progress), the courses completed and the credits awarded; per
school, the wallet's spending as totals only (no pupil, no payment). The groups come from
``reports_store`` (one aggregation each, on one computed key)."""
from __future__ import annotations

from services.common import report_tables
from services.common.report_tables import SEP

REPORTS = {"learning": "终身学习：活跃学员、结业与学分", "wallet": "一机通消费（按学校汇总）"}


def learning_table(progress: list[dict], ledger: list[dict], since: str, until: str) -> dict:
    """``progress`` {_id: "UTC hour|enrolment id" (resident|course)}, ``ledger``
    {_id: "UTC hour|kind", n, credits}: per month, distinct learners, completions, credits."""
    months = [report_tables.shift_month(since, i) for i in range(report_tables.months_between(since, until))]
    active: dict[str, set[str]] = {m: set() for m in months}
    for g in progress:
        hour, enrolment = g["_id"].split(SEP, 1)
        month = report_tables.local_month(hour)
        if month in active:
            active[month].add(enrolment.split(SEP, 1)[0])
    done = {m: [0, 0] for m in months}
    for g in ledger:
        hour, kind = g["_id"].split(SEP, 1)
        month = report_tables.local_month(hour)
        if month in done:
            done[month][0] += g["n"] if kind == "completion" else 0
            done[month][1] += g.get("credits") or 0
    rows = [{"month": m, "active": len(active[m]), "completions": done[m][0], "credits": done[m][1]} for m in months]
    return report_tables.table(
        "learning", REPORTS["learning"],
        [("month", "月份"), ("active", "活跃学员"), ("completions", "结业人次"), ("credits", "获得学分")], rows,
        {"kind": "line", "labels": months, "series": [{"name": "活跃学员", "data": [r["active"] for r in rows]},
                                                      {"name": "结业人次", "data": [r["completions"] for r in rows]}]},
        since=since, until=until, note="学分含学分银行的更正记录。")


def wallet_table(groups: list[dict], schools: dict[str, str], names: dict[str, str], since: str,
                 until: str) -> dict:
    """Per school, the charges and refunds of its terminals in the period, in yuan; groups are
    {_id: "kind|terminal", n, fen}, ``schools`` {terminal: school}."""
    per: dict[str, dict[str, int]] = {}
    for g in groups:
        kind, terminal = g["_id"].split(SEP, 1)
        school = schools.get(terminal, "")
        row = per.setdefault(school, {"charges": 0, "charged": 0, "refunded": 0})
        if kind == "charge":
            row["charges"] += g["n"]
            row["charged"] += -(g.get("fen") or 0)
        else:
            row["refunded"] += g.get("fen") or 0
    rows = [{"school": names.get(s, s) or "（未登记终端）", "charges": r["charges"], "charged": r["charged"] / 100,
             "refunded": r["refunded"] / 100, "net": (r["charged"] - r["refunded"]) / 100}
            for s, r in sorted(per.items())]
    return report_tables.table(
        "wallet", REPORTS["wallet"],
        [("school", "学校"), ("charges", "消费笔数"), ("charged", "消费金额（元）"), ("refunded", "退款金额（元）"),
         ("net", "净消费（元）")],
        rows, {"kind": "bar", "labels": [r["school"] for r in rows],
               "series": [{"name": "净消费（元）", "data": [r["net"] for r in rows]}]},
        since=since, until=until, note="只含汇总数，不含学生个人信息。")
