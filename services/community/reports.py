"""The community service's reports for supervisors and sub-district centres, free of I/O: whose
figures an asker reaches, the figures a case carries for them, and the tables made from the
store's groups (``reports_store``).

- **Scope**: a district supervisor reads the district, or one sub-district they pick; a
  sub-district's supervisor and its centre's clerks their sub-district only (its committees and
  the centre itself, which handles the matters whose rule says sub-district). A committee's clerk
  reads none: the reports are the district's view of its committees.
- **What a case carries** (``with_figures``, set by every write of the case,
  ``cases_store``): its month and sub-district, once closed (办结 or 不予受理) the days it took
  and whether it closed by its deadline, and the fields the reports group on, computed when the
  case is written (a key computed in the pipeline, ``$concat``, cost 20 times a stored one on
  the embedded store).
- **Rows**: the district's reports have a row per sub-district, a sub-district's per committee
  (the centre among them). A case handed on
  (收受分离) counts where it is handled; the table says how many came from another sub-district.
"""
from __future__ import annotations

from typing import Callable

from services.common import report_tables
from services.common.errors import BadInput, Forbidden
from services.common.report_tables import SEP

CLOSED = ("completed", "rejected")   # handled to the end: a withdrawn case was not
REPORTS = {"cases": "案件量（按事项、社区、月份）", "timeliness": "按期办结率与办理天数中位数",
           "ratings": "居民评价", "away": "人户分离人数（按社区）"}


def with_figures(case: dict, subdistrict_of: Callable[[str], str | None]) -> dict:
    """``case`` with its report fields as it is now (``subdistrict_of``: a place's sub-district).

    Each report is a ``$match`` on a range of one indexed field, then a ``$group`` on that same
    field (``reports_store``; the embedded store answers that from the index, four times faster
    than grouping on another field): ``g_<figure>_d`` month|sub-district|… for the district's
    rows, ``g_<figure>_s`` sub-district|month|committee|… for one sub-district's, so a period is
    one range and a report answers as many groups as it has rows, whatever the number of cases
    (the store's time goes into the groups it answers: bench/RESULTS.md, Reports). ``cross`` is
    1 for a case accepted in another sub-district (收受分离 across sub-districts). Once closed:
    the days it took (calendar days from submission) and whether it closed by its deadline
    (yes, no, none: it had none), kept; once rated, its score."""
    if not case.get("submitted_at"):   # not a stored case (a rule's test may pass a part of one)
        return case
    month = report_tables.local_month(case["submitted_at"])
    handling = case["handling_committee"]
    sd = subdistrict_of(handling) or handling
    cross = "1" if (subdistrict_of(case["accepting_committee"]) or case["accepting_committee"]) != sd else "0"
    case.update(report_month=month, g_cases_d=SEP.join((month, sd, case["matter_code"], cross)),
                g_cases_s=SEP.join((sd, month, handling, case["matter_code"], cross)))
    if case["status"] in CLOSED and not case.get("closed_at"):
        closed_at = next((e["at"] for e in reversed(case["trail"]) if e["action"] in ("complete", "reject")),
                         case["trail"][-1]["at"])
        closed_on = report_tables.local_hour(closed_at[:13]).date().isoformat()
        case.update(closed_at=closed_at, handling_days=report_tables.days_between(case["submitted_at"], closed_at),
                    on_time=("yes" if closed_on <= case["deadline"] else "no") if case.get("deadline") else "none")
    closed, score = case["status"] in CLOSED, (case.get("rating") or {}).get("score")
    for head, suffix in (((month, sd), "_d"), ((sd, month, handling), "_s")):
        _keep(case, "g_closed" + suffix,
              SEP.join((*head, case["on_time"], str(case["handling_days"]))) if closed else None)
        _keep(case, "g_rated" + suffix, SEP.join((*head, str(score))) if score else None)
    return case


def _keep(case: dict, field: str, value: str | None) -> None:
    if value is None:
        case.pop(field, None)
    else:
        case[field] = value


# ---- scope -------------------------------------------------------------------------------------

def scope(actor, places: list[dict], subdistrict: str | None) -> tuple[str | None, dict[str, str]]:
    """(the sub-district the report covers or None for the district, {code: its sub-district} of
    the places its rows are about: the district's sub-districts, or one sub-district's committees
    and its centre); refused for anyone but a supervisor, a centre or an admin, and for a
    sub-district beyond the asker's."""
    if actor.role not in ("supervisor", "centre", "admin"):
        raise Forbidden("the reports are for supervisors and sub-district centres")
    known = {p["_id"] for p in places if p["kind"] == "subdistrict"}
    if subdistrict not in (None, "") and subdistrict not in known:
        raise BadInput(f"unknown sub-district {subdistrict!r}")
    own = actor.subdistrict if actor.role != "admin" else None
    if own is not None and subdistrict not in (None, "", own):
        raise Forbidden("a sub-district's reports are read by its own supervisors and centre")
    chosen = own or subdistrict or None
    if chosen is None:
        return None, {code: code for code in known}
    units = {chosen: chosen}
    units.update({p["_id"]: chosen for p in places if p["kind"] == "committee" and p.get("parent") == chosen})
    return chosen, units


def place_names(places: list[dict], chosen: str | None) -> dict[str, str]:
    """The rows' names: a sub-district by its name in the district's rows, as its centre in its own."""
    return {p["_id"]: (f"{p['name']}社区事务受理服务中心" if p["kind"] == "subdistrict" and chosen else p["name"])
            for p in places}


# ---- tables ------------------------------------------------------------------------------------
# ``units`` {code: its sub-district} are the rows' places: the sub-districts for the district, the
# committees and the centre of one sub-district; ``names`` {code: name}.

def cases_table(groups: list[dict], units: dict[str, str], names: dict[str, str], matters: dict[str, str],
                since: str, until: str, chosen: str | None) -> dict:
    """Cases submitted per month, handling place and matter, with how many of them were accepted
    in another sub-district (handed on, 收受分离); groups are {_id: "month|unit|matter|cross", n}."""
    tally: dict[tuple[str, str, str], list[int]] = {}
    for g in groups:
        if not g["_id"]:
            continue
        month, unit, matter, cross = g["_id"].split(SEP)
        if unit in units and since <= month <= until:
            row = tally.setdefault((month, unit, matter), [0, 0])
            row[0] += g["n"]
            row[1] += g["n"] if cross == "1" else 0
    rows = [{"month": m, "unit": names.get(u, u), "matter": matters.get(mt, mt), "cases": n, "from_elsewhere": away}
            for (m, u, mt), (n, away) in sorted(tally.items())]
    months = _months(since, until)
    per_month = dict.fromkeys(months, 0)
    for (m, _, _), (n, _) in tally.items():
        per_month[m] += n
    return report_tables.table(
        "cases", REPORTS["cases"],
        [("month", "月份"), ("unit", "办理单位"), ("matter", "事项"), ("cases", "案件数"),
         ("from_elsewhere", "其中外街镇受理")],
        rows, {"kind": "bar", "labels": months, "series": [{"name": "案件数", "data": list(per_month.values())}]},
        since=since, until=until, scope=chosen)


def timeliness_table(groups: list[dict], units: dict[str, str], names: dict[str, str], since: str, until: str,
                     chosen: str | None) -> dict:
    """Per handling place, the cases of the period closed, how many by their deadline, the rate,
    and the median days taken; groups are {_id: "month|unit|on_time|days", n}."""
    per: dict[str, dict] = {}
    for g in groups:
        if not g["_id"]:
            continue
        _, unit, on_time, days = g["_id"].split(SEP)
        if unit not in units:
            continue
        row = per.setdefault(unit, {"closed": 0, "on_time": 0, "with_deadline": 0, "days": {}})
        row["closed"] += g["n"]
        row["with_deadline"] += g["n"] if on_time != "none" else 0
        row["on_time"] += g["n"] if on_time == "yes" else 0
        row["days"][int(days)] = row["days"].get(int(days), 0) + g["n"]
    rows = [{"unit": names.get(u, u), "closed": r["closed"], "on_time": r["on_time"],
             "on_time_rate": report_tables.percent(r["on_time"], r["with_deadline"]),
             "median_days": report_tables.median(r["days"])}
            for u, r in sorted(per.items())]
    return report_tables.table(
        "timeliness", REPORTS["timeliness"],
        [("unit", "办理单位"), ("closed", "办结数"), ("on_time", "按期办结数"), ("on_time_rate", "按期办结率（%）"),
         ("median_days", "办理天数中位数")],
        rows, {"kind": "bar", "labels": [r["unit"] for r in rows],
               "series": [{"name": "按期办结率（%）", "data": [r["on_time_rate"] or 0 for r in rows]}]},
        since=since, until=until, scope=chosen,
        note="按期办结率只计有办理期限的案件；办理天数为提交至办结的自然日。")


def ratings_table(groups: list[dict], units: dict[str, str], names: dict[str, str], since: str, until: str,
                  chosen: str | None) -> dict:
    """Per handling place, residents' ratings of the cases of the period: how many, the average,
    and how many of each score; groups are {_id: "month|unit|score", n}."""
    per: dict[str, dict[int, int]] = {}
    for g in groups:
        if not g["_id"]:
            continue
        _, unit, score = g["_id"].split(SEP)
        if unit in units:
            scores = per.setdefault(unit, {})
            scores[int(score)] = scores.get(int(score), 0) + g["n"]
    rows = []
    for u, scores in sorted(per.items()):
        n = sum(scores.values())
        rows.append({"unit": names.get(u, u), "ratings": n,
                     "average": round(sum(s * k for s, k in scores.items()) / n, 2),
                     **{f"s{s}": scores.get(s, 0) for s in range(1, 6)}})
    return report_tables.table(
        "ratings", REPORTS["ratings"],
        [("unit", "办理单位"), ("ratings", "评价数"), ("average", "平均分"), *[(f"s{s}", f"{s}分") for s in range(1, 6)]],
        rows, {"kind": "bar", "labels": [r["unit"] for r in rows],
               "series": [{"name": "平均分", "data": [r["average"] for r in rows]}]},
        since=since, until=until, scope=chosen)


def away_table(living: list[dict], registered: list[dict], units: dict[str, str], committees: dict[str, str],
               names: dict[str, str], chosen: str | None) -> dict:
    """Per committee (a sub-district's rows) or sub-district (the district's), residents living
    there registered elsewhere and residents registered there living elsewhere (人户分离), as
    they are now; groups are {_id: committee, n}, ``committees`` {committee: its sub-district}."""
    def tally(groups: list[dict]) -> dict[str, int]:
        out: dict[str, int] = {}
        for g in groups:
            unit = g["_id"] if g["_id"] in units else committees.get(g["_id"])
            if unit in units:
                out[unit] = out.get(unit, 0) + g["n"]
        return out
    here, away = tally(living), tally(registered)
    rows = [{"unit": names.get(u, u), "living_here": here.get(u, 0), "registered_here": away.get(u, 0)}
            for u in sorted(set(here) | set(away))]
    return report_tables.table(
        "away", REPORTS["away"],
        [("unit", "社区或街镇"), ("living_here", "居住在此、户籍在外"), ("registered_here", "户籍在此、居住在外")],
        rows, {"kind": "bar", "labels": [r["unit"] for r in rows],
               "series": [{"name": "居住在此、户籍在外", "data": [r["living_here"] for r in rows]},
                          {"name": "户籍在此、居住在外", "data": [r["registered_here"] for r in rows]}]},
        scope=chosen, note="当前人数（不随所选月份变化）。")


def _months(since: str, until: str) -> list[str]:
    return [report_tables.shift_month(since, i) for i in range(report_tables.months_between(since, until))]
