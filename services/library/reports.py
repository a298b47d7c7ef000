"""The library's reports for the district's supervisors, free of I/O: loans by location and the
district's hour of the day, and each kiosk's uptime (the share of hours it was heard from, since
it was first heard in the period) with its faults and conflicts. The groups come from
``reports_store`` (one aggregation each, on one computed key)."""
from __future__ import annotations

import math
from datetime import datetime, timezone

from services.common import clock, report_tables
from services.common.report_tables import SEP

REPORTS = {"loans": "图书借阅（按馆点与时段）", "kiosks": "自助图书馆在线率与借还冲突",
           "digital": "数字资源与科普使用（按提供方）"}
OWN = "区图书馆自有数字资源"   # the library's own e-books and audio, shared by no provider


def loan_key(loaned_at: str, location: str) -> str:
    """What the loans report groups a loan on (``report_key``, on the loan and on its history
    entry): the district's month and hour of the day it was lent, then where. A range of it is a
    period and its values are the groups (at most months × 24 × locations, whatever the number of
    loans), answered from the index (a key computed in the pipeline cost 20 times as much)."""
    local = report_tables.local_hour(str(loaned_at)[:13])
    return SEP.join((local.strftime("%Y-%m"), f"{local.hour:02d}", str(location)))


def loans_table(groups: list[dict], names: dict[str, str], since: str, until: str) -> dict:
    """Loans begun in the period per location and hour of the day; groups are
    {_id: "month|hour|location", n} (``loan_key``: ended and current loans alike)."""
    tally: dict[tuple[str, int], int] = {}
    for g in groups:
        if not g["_id"]:
            continue
        month, hour, location = g["_id"].split(SEP, 2)
        if since <= month <= until:
            tally[(location, int(hour))] = tally.get((location, int(hour)), 0) + g["n"]
    rows = [{"location": names.get(loc, loc), "hour": f"{h:02d}:00–{h + 1:02d}:00", "loans": n}
            for (loc, h), n in sorted(tally.items())]
    by_hour = [sum(n for (_, h), n in tally.items() if h == hour) for hour in range(24)]
    return report_tables.table(
        "loans", REPORTS["loans"], [("location", "馆点"), ("hour", "时段"), ("loans", "借出册次")], rows,
        {"kind": "bar", "labels": [f"{h:02d}时" for h in range(24)], "series": [{"name": "借出册次", "data": by_hour}]},
        since=since, until=until)


def kiosks_table(kiosks: list[dict], hours: list[dict], conflicts: list[dict], names: dict[str, str],
                 since: str, until: str, now: datetime) -> dict:
    """Per kiosk: its status now, its uptime in the period, open faults, conflicts in the period
    (and how many are still open); ``hours`` {_id: kiosk, n, first: UTC hour}, ``conflicts``
    {_id: "kiosk|status", n}."""
    low, high = report_tables.utc_bounds(since, until)
    end = min(datetime.fromisoformat(high + ":00").replace(tzinfo=timezone.utc), now)
    heard = {h["_id"]: h for h in hours}
    tally: dict[str, dict[str, int]] = {}
    for c in conflicts:
        kiosk, status = c["_id"].rsplit(SEP, 1)
        tally.setdefault(kiosk, {})[status] = tally.get(kiosk, {}).get(status, 0) + c["n"]
    rows = []
    for k in kiosks:
        h = heard.get(k["_id"])
        uptime = None
        if h:
            first = datetime.fromisoformat(max(h["first"], low) + ":00").replace(tzinfo=timezone.utc)
            span = max(1, math.ceil((end - first).total_seconds() / 3600))   # the hour now running counts
            uptime = round(100 * min(h["n"], span) / span, 1)
        counts = tally.get(k["_id"], {})
        rows.append({"kiosk": names.get(k["_id"], k["_id"]), "status": "在线" if k.get("status") == "online" else "离线",
                     "last_seen": clock.local(datetime.fromisoformat(k["last_seen"])).strftime("%Y-%m-%d %H:%M")
                     if k.get("last_seen") else "", "uptime": uptime, "open_faults": len(k.get("open_faults") or {}),
                     "conflicts": sum(counts.values()), "open_conflicts": counts.get("open", 0)})
    return report_tables.table(
        "kiosks", REPORTS["kiosks"],
        [("kiosk", "自助图书馆"), ("status", "当前状态"), ("last_seen", "最后在线"), ("uptime", "在线率（%）"),
         ("open_faults", "未修复故障"), ("conflicts", "借还冲突"), ("open_conflicts", "其中未处理")],
        rows, {"kind": "bar", "labels": [r["kiosk"] for r in rows],
               "series": [{"name": "在线率（%）", "data": [r["uptime"] or 0 for r in rows]},
                          {"name": "借还冲突", "data": [r["conflicts"] for r in rows]}]},
        since=since, until=until, note="在线率：自本期首次上线起，每小时至少收到一次心跳的小时所占比例。")


def digital_table(usage: dict, since: str, until: str) -> dict:
    """Per popular-science provider, and the library's own resources: items published and
    waiting for review, borrows, plays and readers (``UsageStatisticsV1``, counted since each
    resource was first used: the counts are kept as totals, not by month)."""
    rows = [{"provider_id": p["provider_id"], "provider": p["name"], "published": p["published"], "pending": p["pending"], "borrows": p["borrows"],
             "plays": p["plays"], "readers": p["unique_readers"]} for p in usage["providers"]]
    own = [r for r in usage["resources"] if not r.get("provider_id")]
    if own:
        rows.append({"provider_id": None, "provider": OWN, "published": len(own), "pending": 0,
                     "borrows": sum(r["borrows"] for r in own), "plays": sum(r["plays"] for r in own),
                     "readers": None})   # readers of several resources are not added up: one may read many
    return report_tables.table(
        "digital", REPORTS["digital"],
        [("provider", "提供方"), ("published", "已发布"), ("pending", "待审核"), ("borrows", "借阅次数"),
         ("plays", "播放/阅读次数"), ("readers", "读者人数")], rows,
        {"kind": "bar", "labels": [r["provider"] for r in rows],
         "series": [{"name": "借阅次数", "data": [r["borrows"] for r in rows]},
                    {"name": "播放/阅读次数", "data": [r["plays"] for r in rows]}]},
        since=since, until=until, note="累计至今的使用次数（不按所选月份）；播放/阅读：从文件开头取用一次计一次。")
