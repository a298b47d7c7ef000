"""The console's reports: which there are and who reads each, and a report as a download (CSV
and XLSX, the table the page shows, headed by its title and period). The figures are the
services' (``community_report``, ``library_report``, ``elearning_report``); the page draws them
with Chart.js (vendored from npm at build time, ``gateway/static/vendor-src/``) beside the same
table, so a page without scripts loses only the picture."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import xlsxwriter

from gateway.console.session import Signed


@dataclass(frozen=True)
class Report:
    name: str
    service: str
    rpc: str
    title: str
    district_only: bool   # the library's and e-learning's: places and schools are not a sub-district's


REPORTS = {r.name: r for r in (
    Report("cases", "community", "community_report", "案件量（按事项、社区、月份）", False),
    Report("timeliness", "community", "community_report", "按期办结率与办理天数中位数", False),
    Report("ratings", "community", "community_report", "居民评价", False),
    Report("away", "community", "community_report", "人户分离人数（按社区）", False),
    Report("loans", "library", "library_report", "图书借阅（按馆点与时段）", True),
    Report("kiosks", "library", "library_report", "自助图书馆在线率与借还冲突", True),
    Report("digital", "library", "library_report", "数字资源与科普使用（按提供方）", True),
    Report("learning", "elearning", "elearning_report", "终身学习：活跃学员、结业与学分", True),
    Report("wallet", "elearning", "elearning_report", "一机通消费（按学校汇总）", True),
)}


def readable_by(signed: Signed) -> list[Report]:
    """The reports ``signed`` may open: a sub-district's supervisor and centre its cases' reports;
    a district supervisor every one."""
    district = signed.role == "supervisor" and not signed.who.get("subdistrict")
    return [r for r in REPORTS.values() if district or not r.district_only]


def as_csv(table: dict) -> bytes:
    """UTF-8 with a byte-order mark (so a spreadsheet opens Chinese right); the header row is the
    columns' headings; a text cell that a spreadsheet would take for a formula is quoted."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c["name"] for c in table["columns"]])
    for row in table["rows"]:
        writer.writerow([_cell(row.get(c["key"])) for c in table["columns"]])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def as_xlsx(table: dict) -> bytes:
    """One sheet: the title and period in the first row, the headings in the second, then the rows
    (numbers as numbers)."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    sheet = book.add_worksheet(table["report"][:31])
    bold = book.add_format({"bold": True})
    sheet.write_string(0, 0, period_title(table), bold)
    for col, column in enumerate(table["columns"]):
        sheet.write_string(1, col, column["name"], bold)
        sheet.set_column(col, col, max(10, len(column["name"]) * 2))
    for r, row in enumerate(table["rows"], start=2):
        for col, column in enumerate(table["columns"]):
            value = row.get(column["key"])
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                sheet.write_number(r, col, value)
            elif value is not None:
                sheet.write_string(r, col, str(value))
    book.close()
    return out.getvalue()


def period_title(table: dict) -> str:
    when = f"（{table['since']} 至 {table['until']}）" if table.get("since") else ""
    return f"{table['title']}{when}"


def _cell(value):
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value
