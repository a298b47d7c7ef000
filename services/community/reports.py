"""The community service's reports for supervisors and sub-district centres, free of I/O: whose
figures an asker reaches, the figures a case carries for them, and the tables made from the
store's groups (``reports_store``).

- **Scope**: a district supervisor reads the district, or one sub-district they pick; a
  sub-district's supervisor and its centre's clerks their sub-district only (its committees and
  the centre itself, which handles the matters whose rule says sub-district). A committee's clerk
  reads none: the reports are the district's view of its committees.
- **What a case carries** (``with_figures``, set by every write of the case, ``cases._finish``,
  and by a rating): the district's month it was submitted in, once closed (办结 or 不予受理) the
  days it took (calendar days from submission) and whether it closed by its deadline, and the
  keys the reports group on (computed when the case is written: grouping on a key computed in
  the pipeline, ``$concat``, was 20 times slower on the embedded store, bench/RESULTS.md). A case handed on
  (收受分离) counts where it is handled; the table says how many came from another sub-district.
"""
from __future__ import annotations

from services.common import report_tables
from services.common.errors import BadInput, Forbidden
from services.common.report_tables import SEP

CLOSED = ("completed", "rejected")   # handled to the end: a withdrawn case was not
REPORTS = {"cases": "案件量（按事项、社区、月份）", "timeliness": "按期办结率与办理天数中位数",
           "ratings": "居民评价", "away": "人户分离人数（按社区）"}


def with_figures(case: dict) -> dict:
    """``case`` with its report fields as it is now: the district's month it was submitted in
    and, grouped on by the reports (each one indexed field, starting with that month, so one
    range of it is a period and its values are the groups: no key is computed when a report
    runs), ``report_key`` month|handling committee|matter; ``report_handed_key`` (only when
    accepted elsewhere, 收受分离) the same with the accepting committee; once closed,
    ``report_closed_key`` month|handling|on time (yes, no, none: no deadline)|days taken; once
    rated, ``report_rating_key`` month|handling|score. A closed case keeps its closing figures."""
    if not case.get("submitted_at"):   # not a stored case (a rule's test may pass a part of one)
        return case
    month = report_tables.local_month(case["submitted_at"])
    head = SEP.join((month, case["handling_committee"]))
    case["report_month"] = month
    case["report_key"] = SEP.join((head, case["matter_code"]))
    _keep(case, "report_handed_key", SEP.join((head, case["matter_code"], case["accepting_committee"]))
          if case["accepting_committee"] != case["handling_committee"] else None)
    if case["status"] in CLOSED and not case.get("closed_at"):
        closed_at = next((e["at"] for e in reversed(case["trail"]) if e["action"] in ("complete", "reject")),
                         case["trail"][-1]["at"])
        closed_on = report_tables.local_hour(closed_at[:13]).date().isoformat()
        case.update(closed_at=closed_at, handling_days=report_tables.days_between(case["submitted_at"], closed_at),
                    on_time=("yes" if closed_on <= case["deadline"] else "no") if case.get("deadline") else "none")
    _keep(case, "report_closed_key", SEP.join((head, case["on_time"], str(case["handling_days"])))
          if case["status"] in CLOSED else None)
    score = (case.get("rating") or {}).get("score")
    _keep(case, "report_rating_key", SEP.join((head, str(score))) if score else None)
    return case


def _keep(case: dict, field: str, value: str | None) -> None:
    if value is None:
        case.pop(field, None)   # sparse: only the cases it groups carry it
    else:
        case[field] = value


# ---- scope -------------------------------------------------------------------------------------

def scope(actor, places: list[dict], subdistrict: str | None) -> tuple[str | None, dict[str, str]]:
    """(the sub-district the report covers or None for the district, {code: its sub-district} of
    every committee and centre in it); refused for anyone but a supervisor, a centre or an admin,
    and for a sub-district beyond the asker's."""
    if actor.role not in ("supervisor", "centre", "admin"):
        raise Forbidden("the reports are for supervisors and sub-district centres")
    known = {p["_id"] for p in places if p["kind"] == "subdistrict"}
    if subdistrict not in (None, "") and subdistrict not in known:
        raise BadInput(f"unknown sub-district {subdistrict!r}")
    own = actor.subdistrict if actor.role != "admin" else None
    if own is not None and subdistrict not in (None, "", own):
        raise Forbidden("a sub-district's reports are read by its own supervisors and centre")
    chosen = own or subdistrict or None
    members = {p["_id"]: p["_id"] for p in places if p["kind"] == "subdistrict"}
    members.update({p["_id"]: p.get("parent") for p in places if p["kind"] == "committee"})
    return chosen, {code: sd for code, sd in members.items() if chosen is None or sd == chosen}


def place_names(places: list[dict]) -> dict[str, str]:
    return {p["_id"]: (f"{p['name']}社区事务受理服务中心" if p["kind"] == "subdistrict" else p["name"])
            for p in places}


# ---- tables ------------------------------------------------------------------------------------

def cases_table(groups: list[dict], handed: list[dict], members: dict[str, str], all_places: dict[str, str], names: dict[str, str],
                matters: dict[str, str], since: str, until: str, chosen: str | None) -> dict:
    """Cases submitted per month, handling committee and matter, with how many of them were
    accepted in another sub-district (handed on, 收受分离); ``groups`` are
    {_id: "month|handling|matter", n}, ``handed`` {_id: "month|handling|matter|accepting", n}."""
    tally: dict[tuple[str, str, str], list[int]] = {}
    for g in groups:
        month, handling, matter = g["_id"].split(SEP)
        if handling in members and since <= month <= until:
            tally.setdefault((month, handling, matter), [0, 0])[0] += g["n"]
    for g in handed:
        month, handling, matter, accepting = g["_id"].split(SEP)
        if (month, handling, matter) in tally and all_places.get(accepting) != members[handling]:
            tally[(month, handling, matter)][1] += g["n"]
    rows = [{"month": m, "subdistrict": names.get(members[h], ""), "committee": names.get(h, h),
             "matter": matters.get(mt, mt), "cases": n, "from_elsewhere": away}
            for (m, h, mt), (n, away) in sorted(tally.items())]
    months = _months(since, until)
    per_month = {m: 0 for m in months}
    for (m, _, _), (n, _) in tally.items():
        per_month[m] += n
    return report_tables.table(
        "cases", REPORTS["cases"],
        [("month", "月份"), ("subdistrict", "街镇"), ("committee", "办理社区"), ("matter", "事项"),
         ("cases", "案件数"), ("from_elsewhere", "其中外街镇受理")],
        rows, {"kind": "bar", "labels": months, "series": [{"name": "案件数", "data": list(per_month.values())}]},
        since=since, until=until, scope=chosen)


def timeliness_table(groups: list[dict], members: dict[str, str], names: dict[str, str], since: str, until: str,
                     chosen: str | None) -> dict:
    """Per handling committee, the cases closed (of those submitted in the period), how many by
    their deadline, the rate, and the median days taken; groups are
    {_id: "month|handling|on_time|days", n}."""
    per: dict[str, dict] = {}
    for g in groups:
        _, handling, on_time, days = g["_id"].split(SEP)
        if handling not in members:
            continue
        row = per.setdefault(handling, {"closed": 0, "on_time": 0, "with_deadline": 0, "days": {}})
        row["closed"] += g["n"]
        row["with_deadline"] += g["n"] if on_time != "none" else 0
        row["on_time"] += g["n"] if on_time == "yes" else 0
        row["days"][int(days)] = row["days"].get(int(days), 0) + g["n"]
    rows = [{"subdistrict": names.get(members[c], ""), "committee": names.get(c, c), "closed": r["closed"],
             "on_time": r["on_time"], "on_time_rate": report_tables.percent(r["on_time"], r["with_deadline"]),
             "median_days": report_tables.median(r["days"])}
            for c, r in sorted(per.items())]
    return report_tables.table(
        "timeliness", REPORTS["timeliness"],
        [("subdistrict", "街镇"), ("committee", "办理社区"), ("closed", "办结数"), ("on_time", "按期办结数"),
         ("on_time_rate", "按期办结率（%）"), ("median_days", "办理天数中位数")],
        rows, {"kind": "bar", "labels": [r["committee"] for r in rows],
               "series": [{"name": "按期办结率（%）", "data": [r["on_time_rate"] or 0 for r in rows]}]},
        since=since, until=until, scope=chosen,
        note="按期办结率只计有办理期限的案件；办理天数为提交至办结的自然日。")


def ratings_table(groups: list[dict], members: dict[str, str], names: dict[str, str], since: str, until: str,
                  chosen: str | None) -> dict:
    """Per handling committee, residents' ratings of the cases submitted in the period: how many,
    the average, and how many of each score; groups are {_id: "month|handling|score", n}."""
    per: dict[str, dict[int, int]] = {}
    for g in groups:
        _, handling, score = g["_id"].split(SEP)
        if handling in members:
            per.setdefault(handling, {})[int(score)] = per.get(handling, {}).get(int(score), 0) + g["n"]
    rows = []
    for c, scores in sorted(per.items()):
        n = sum(scores.values())
        rows.append({"subdistrict": names.get(members[c], ""), "committee": names.get(c, c), "ratings": n,
                     "average": round(sum(s * k for s, k in scores.items()) / n, 2),
                     **{f"s{s}": scores.get(s, 0) for s in range(1, 6)}})
    return report_tables.table(
        "ratings", REPORTS["ratings"],
        [("subdistrict", "街镇"), ("committee", "办理社区"), ("ratings", "评价数"), ("average", "平均分"),
         *[(f"s{s}", f"{s}分") for s in range(1, 6)]],
        rows, {"kind": "bar", "labels": [r["committee"] for r in rows],
               "series": [{"name": "平均分", "data": [r["average"] for r in rows]}]},
        since=since, until=until, scope=chosen)


def away_table(living: list[dict], registered: list[dict], members: dict[str, str], names: dict[str, str],
               chosen: str | None) -> dict:
    """Per committee, residents living there registered elsewhere and residents registered there
    living elsewhere (人户分离), as they are now; groups are {_id: committee, n}."""
    here = {g["_id"]: g["n"] for g in living if g["_id"] in members}
    away = {g["_id"]: g["n"] for g in registered if g["_id"] in members}
    rows = [{"subdistrict": names.get(members[c], ""), "committee": names.get(c, c),
             "living_here": here.get(c, 0), "registered_here": away.get(c, 0)}
            for c in sorted(set(here) | set(away))]
    return report_tables.table(
        "away", REPORTS["away"],
        [("subdistrict", "街镇"), ("committee", "社区"), ("living_here", "居住在本社区、户籍在外"),
         ("registered_here", "户籍在本社区、居住在外")],
        rows, {"kind": "bar", "labels": [r["committee"] for r in rows],
               "series": [{"name": "居住在本社区、户籍在外", "data": [r["living_here"] for r in rows]},
                          {"name": "户籍在本社区、居住在外", "data": [r["registered_here"] for r in rows]}]},
        scope=chosen, note="当前人数（不随所选月份变化）。")


def _months(since: str, until: str) -> list[str]:
    return [report_tables.shift_month(since, i) for i in range(report_tables.months_between(since, until))]
