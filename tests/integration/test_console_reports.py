"""The console's reports through a real gateway and the three services, as a browser uses them with
plain HTTP. The test makes two sub-districts of its own (so the figures in their scope are its
rows alone), registers residents — some living away from their registration, one across
sub-districts — and runs cases through their steps: accepted at one committee and handed on to
another sub-district's, closed on time or late, after 0 or 3 days, rejected, rated. Each
report's figures are compared with counts the test makes itself from what it did, never from
the service's fields; the CSV and XLSX downloads are read back (openpyxl) and compared with the
page. The library's and e-learning's reports read rows the test writes in months of 2021 (a past
no other test writes in). A committee's clerk and another sub-district's supervisor are refused."""
import csv
import html
import io
import json
import re
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

import openpyxl
import pytest
from test_console import Desk, start_console  # noqa: F401 - shared with the clerks' console tests

from services.common import clock
from services.common.errors import Forbidden
from services.community import staff
from services.elearning.service import ElearningService
from services.library import kiosks_store
from services.library import reports as library_reports
from services.library.service import LibraryService
from support import id_number, web_address
from support.library import a_patron, a_title

pytestmark = pytest.mark.timeout(300)
MATTER, LATE_MATTER = "ELDERLY_ALLOWANCE", "UNEMPLOYMENT_REGISTRATION"   # both handled where one lives


def table_of(html: str) -> list[list[str]]:
    """The report table's cells, as the page shows them."""
    body = re.search(r'<table class="list" id="report-table">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_reports_match_what_was_done_and_download_as_csv_and_xlsx(start_service, service_config, rpc, db, later):
    start_service(LibraryService)
    start_service(ElearningService)
    containers = start_console(start_service, service_config, rpc)
    base = web_address(containers["gateway"])
    tag = uuid.uuid4().hex[:5].upper()
    sd_a, sd_b = f"SA{tag}", f"SB{tag}"
    a1, a2, b1 = f"CA{tag}1", f"CA{tag}2", f"CB{tag}1"
    rpc.community.upsert_places([
        {"code": sd_a, "kind": "subdistrict", "name": f"甲{tag}街道"}, {"code": sd_b, "kind": "subdistrict", "name": f"乙{tag}镇"},
        {"code": a1, "kind": "committee", "name": f"甲一{tag}居委会", "parent": sd_a},
        {"code": a2, "kind": "committee", "name": f"甲二{tag}居委会", "parent": sd_a},
        {"code": b1, "kind": "committee", "name": f"乙一{tag}村委会", "parent": sd_b},
        *[{"code": f"D{c}", "kind": "desk", "name": f"{c}受理点", "parent": c} for c in (a1, a2, b1)]])
    names = {a1: f"甲一{tag}居委会", a2: f"甲二{tag}居委会", b1: f"乙一{tag}村委会"}

    def account(role, committee=None, subdistrict=None):
        login, password = f"{role[:3]}-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex[:12]}"
        rpc.community.staff_add(login, "周统计", committee, staff.hash_password(password), role, subdistrict)
        desk = Desk(base)
        assert desk.sign_in(login, password).status_code == 303
        desk.login = login
        return desk

    def resident(lives, registered):
        return rpc.community.register_resident({"id_number": id_number(), "name": "陈红", "residence_committee": lives,
                                                "registered_committee": registered, "address": "测试路1号"})["resident_id"]
    # residents: (lives, registered) — three live away from their registration, one across sub-districts
    people = [(a1, a1), (a1, a1), (a2, a1), (a1, a2), (b1, b1), (a1, b1)]
    ids = [resident(lives, registered) for lives, registered in people]

    # cases: (resident index, desk's committee, matter); the fifth is accepted in sub-district A
    # for a resident of B, so handed on to B's committee (收受分离)
    plan = [(0, a1, MATTER), (1, a1, MATTER), (1, a1, LATE_MATTER), (2, a2, MATTER), (3, a1, MATTER),
            (4, a1, MATTER), (4, b1, LATE_MATTER), (5, a1, MATTER)]
    done = []
    for who, desk, matter in plan:
        clerk = {"id": f"clerk-{desk}", "role": "staff", "committee": desk}
        case = rpc.community.submit_case(clerk, {"resident_id": ids[who], "matter_code": matter})
        rpc.community.act_on_case(clerk, {"case_id": case["case_id"], "action": "accept"})
        handling = people[who][0]
        done.append({"id": case["case_id"], "resident": ids[who], "accepting": desk, "handling": handling,
                     "matter": matter, "month": clock.today().strftime("%Y-%m")})

    def close(row, action="complete", late=False, score=None, **extra):
        handler = {"id": f"clerk-{row['handling']}", "role": "staff", "committee": row["handling"]}
        if late:   # its deadline passed before it closed
            db("community").cases.update_one({"_id": row["id"]}, {"$set": {"deadline": "2020-01-02"}})
        rpc.community.act_on_case(handler, {"case_id": row["id"], "action": action, **extra})
        row.update(closed=True, on_time="no" if late else "yes", days=days)
        if score:
            rpc.community.rate_case({"id": row["resident"], "role": "resident"}, row["id"], score, "")
            row["score"] = score
    days = 0
    close(done[0], score=5)
    close(done[1], late=True, score=2)
    close(done[4], action="reject", reason="材料不全", score=3)
    later(days=3)
    days = 3
    close(done[3], score=4)
    close(done[5], score=5)            # the handed-on case, closed in sub-district B
    close(done[6], late=True)

    supervisor = account("supervisor")                       # the district's
    sup_a, sup_b = account("supervisor", subdistrict=sd_a), account("supervisor", subdistrict=sd_b)
    centre_b, clerk = account("centre", subdistrict=sd_b), account("staff", committee=a1)

    # ---- cases by month, committee and matter, in sub-district A then B --------------------
    month = done[0]["month"]
    query = f"since={month}&until={month}"
    for desk, sd in ((sup_a, sd_a), (centre_b, sd_b), (supervisor, sd_b)):
        page = desk.get(f"/console/reports/cases?{query}" + (f"&subdistrict={sd}" if desk is supervisor else ""))
        assert page.status_code == 200, page.text
        members = [c for c in (a1, a2, b1) if (c == b1) == (sd == sd_b)]
        expected = Counter((r["handling"], r["matter"]) for r in done if r["handling"] in members)
        crossing = Counter((r["handling"], r["matter"]) for r in done if r["handling"] in members
                           and (r["accepting"] == b1) != (r["handling"] == b1))
        shown = {(row[1], row[2]): (row[0], int(row[3]), int(row[4])) for row in table_of(page.text)}
        assert shown == {(names[h], _matter_name(rpc, m)): (month, n, crossing[(h, m)])
                         for (h, m), n in expected.items()}
        assert "/console/static/vendor/chart.umd.js" in page.text
        chart = json.loads(html.unescape(re.search(r"data-chart='([^']*)'", page.text).group(1)))
        assert chart["labels"][-1] == month and chart["series"][0]["data"][-1] == sum(expected.values())
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert sum(int(r[4]) for r in table_of(centre_b.get(f"/console/reports/cases?{query}").text)) == 1   # handed in
    # the district's rows are its sub-districts: A's is the sum of its committees'
    whole = rpc.community.community_report({"id": supervisor.login, "role": "supervisor"}, "cases", month, month)
    assert sum(r["cases"] for r in whole["rows"] if r["unit"] == f"甲{tag}街道") == \
        sum(1 for r in done if r["handling"] in (a1, a2))

    # ---- on time and median days; ratings; living away ----------------------------------------
    def rpc_report(actor, name, subdistrict=None):
        return rpc.community.community_report(actor, name, month, month, subdistrict)
    district = {"id": supervisor.login, "role": "supervisor"}
    timely = {r["unit"]: r for r in rpc_report(district, "timeliness", sd_a)["rows"]}
    for c in (a1, a2):
        closed = [r for r in done if r["handling"] == c and r.get("closed")]
        if not closed:
            assert names[c] not in timely
            continue
        days_taken = sorted(r["days"] for r in closed)
        middle = (days_taken[(len(days_taken) - 1) // 2] + days_taken[len(days_taken) // 2]) / 2
        on_time = sum(r["on_time"] == "yes" for r in closed)
        assert timely[names[c]]["closed"] == len(closed) and timely[names[c]]["on_time"] == on_time
        assert timely[names[c]]["on_time_rate"] == round(100 * on_time / len(closed), 1)
        assert timely[names[c]]["median_days"] == middle
    rated = {r["unit"]: r for sd in (sd_a, sd_b) for r in rpc_report(district, "ratings", sd)["rows"]}
    for c in (a1, a2, b1):
        scores = [r["score"] for r in done if r["handling"] == c and r.get("score")]
        if scores:
            assert rated[names[c]]["ratings"] == len(scores)
            assert rated[names[c]]["average"] == round(sum(scores) / len(scores), 2)
            assert [rated[names[c]][f"s{s}"] for s in range(1, 6)] == [scores.count(s) for s in range(1, 6)]
    in_a = [r["score"] for r in done if r["handling"] in (a1, a2) and r.get("score")]
    district_a = next(r for r in rpc_report(district, "ratings")["rows"] if r["unit"] == f"甲{tag}街道")
    assert district_a["ratings"] == len(in_a) and district_a["average"] == round(sum(in_a) / len(in_a), 2)
    away = {r["unit"]: r for sd in (sd_a, sd_b) for r in rpc_report(district, "away", sd)["rows"]}
    for c in (a1, a2, b1):
        living = sum(lives == c and reg != c for lives, reg in people)
        registered = sum(reg == c and lives != c for lives, reg in people)
        assert (away.get(names[c], {}).get("living_here", 0), away.get(names[c], {}).get("registered_here", 0)) \
            == (living, registered), c

    # ---- downloads: the page's table, as CSV and as XLSX ---------------------------------------
    page = sup_a.get(f"/console/reports/timeliness?{query}")
    shown = table_of(page.text)
    as_csv = sup_a.get(f"/console/reports/timeliness.csv?{query}")
    assert as_csv.status_code == 200 and as_csv.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert lines[0][:3] == ["办理单位", "办结数", "按期办结数"]
    assert [[cell or "—" for cell in line] for line in lines[1:]] == shown
    as_xlsx = sup_a.get(f"/console/reports/timeliness.xlsx?{query}")
    assert as_xlsx.status_code == 200 and "spreadsheetml" in as_xlsx.headers["Content-Type"]
    sheet = openpyxl.load_workbook(io.BytesIO(as_xlsx.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert "按期办结率" in values[0][0] and month in values[0][0] and list(values[1][:3]) == ["办理单位", "办结数", "按期办结数"]
    assert [[_same(v) for v in row] for row in values[2:]] == [[_same(v) for v in row] for row in shown]
    assert isinstance(values[2][1], (int, float))   # numbers stay numbers

    # ---- who may not ------------------------------------------------------------------------
    assert clerk.get("/console/reports").status_code == 403
    assert clerk.get("/console/reports/cases.xlsx").status_code == 403
    with pytest.raises(Exception) as refused:
        rpc.community.community_report({"id": clerk.login, "role": "staff", "committee": a1}, "cases")
    assert refused.value.exc_type == Forbidden.__name__
    other = sup_b.get(f"/console/reports/cases?{query}&subdistrict={sd_a}")
    assert other.status_code == 403 and names[a1] not in other.text
    assert sup_b.get(f"/console/reports/cases.csv?{query}&subdistrict={sd_a}").status_code == 403
    own = sup_b.get(f"/console/reports/cases?{query}").text
    assert names[b1] in own and names[a1] not in own
    assert sup_b.get("/console/reports/loans").status_code == 404       # the district's reports only
    assert 'data-report="wallet"' not in centre_b.get("/console/reports").text
    assert 'data-report="wallet"' in supervisor.get("/console/reports").text
    assert sup_a.get("/console/reports/cases?since=2020-05&until=2020-01").status_code == 400

    # ---- the library's and e-learning's, from rows of 2021 -------------------------------------
    check_library_and_learning(rpc, db, supervisor, district, tag)


def check_library_and_learning(rpc, db, supervisor, district, tag):
    library, learning = db("library"), db("elearning")
    location, kiosk = f"L{tag}", f"K{tag}"
    rpc.library.upsert_locations([{"code": location, "kind": "branch", "name": f"测试{tag}分馆"},
                                  {"code": kiosk, "kind": "kiosk", "name": f"测试{tag}自助馆", "committee": "C0101"}])
    # loans at 09:xx and 20:xx district time in March 2021, one on 1 April 07:30 (31 March in UTC)
    stamps = ["2021-03-02T01:10:00+00:00", "2021-03-09T01:50:00+00:00", "2021-03-09T12:05:00+00:00",
              "2021-03-31T23:30:00+00:00"]
    library.loan_history.insert_many([{"_id": f"{tag}-{i}", "barcode": f"B{tag}{i}", "title_id": "t", "patron": "p",
                                       "loaned_at": at, "location": location, "returned_at": at,
                                       "report_key": library_reports.loan_key(at, location)}   # as kept
                                      for i, at in enumerate(stamps)])
    loans = supervisor.get("/console/reports/loans?since=2021-03&until=2021-03")
    assert loans.status_code == 200
    mine = Counter()
    for at in stamps:
        local = clock.local(datetime.fromisoformat(at))
        if local.strftime("%Y-%m") == "2021-03":
            mine[f"{local.hour:02d}:00–{local.hour + 1:02d}:00"] += 1
    shown = {row[1]: int(row[2]) for row in table_of(loans.text) if row[0] == f"测试{tag}分馆"}
    assert shown == dict(mine) == {"09:00–10:00": 2, "20:00–21:00": 1}
    # a loan lent now at the desk (on its copy) and one returned (in the history) count this month
    reader, _ = a_patron(db)
    _, barcodes = a_title(rpc.library, copies=(location, location))
    for barcode in barcodes:
        rpc.library.checkout(barcode, reader, location)
    rpc.library.checkin(barcodes[0], location)
    this = clock.today().strftime("%Y-%m")
    now = rpc.library.library_report(district, "loans", this, this)["rows"]
    assert sum(r["loans"] for r in now if r["location"] == f"测试{tag}分馆") == 2

    # the kiosk heard in 30 hours from 2021-03-31 00:00 district time to the end of March: 24 hours
    first = datetime(2021, 3, 30, 16, tzinfo=timezone.utc)
    library.kiosk_hours.insert_many([{"_id": f"{kiosk}|{h}", "kiosk": kiosk, "hour": h} for h in
                                     ((first + timedelta(hours=i)).isoformat()[:13] for i in range(0, 24, 2))])
    kiosks_store.seen(library, kiosk, clock.now(), 60)   # heard now: this hour is kept too
    assert library.kiosk_hours.find_one({"_id": f"{kiosk}|{clock.now().isoformat()[:13]}"})
    library.conflicts.insert_many([{"_id": f"{tag}-c{i}", "kiosk_id": kiosk, "barcode": "b", "status": s,
                                    "at": "2021-03-31T02:00:00+00:00"} for i, s in enumerate(["open", "resolved", "open"])])
    table = rpc.library.library_report(district, "kiosks", "2021-03", "2021-03")
    row = next(r for r in table["rows"] if r["kiosk"] == f"测试{tag}自助馆")
    assert row["uptime"] == round(100 * 12 / 24, 1) and row["conflicts"] == 3 and row["open_conflicts"] == 2

    # learners: progress of three residents (two in April), two completions with credits, a correction
    resident = [f"R{tag}{i}" for i in range(3)]
    learning.progress.insert_many([
        {"_id": f"{tag}p{i}", "enrolment": f"{r}|course-{tag}", "lesson_id": "l1", "at": at, "completed": False}
        for i, (r, at) in enumerate([(resident[0], "2021-04-02T03:00:00+00:00"), (resident[1], "2021-04-20T03:00:00+00:00"),
                                     (resident[1], "2021-04-21T03:00:00+00:00"), (resident[2], "2021-05-01T03:00:00+00:00")])])
    learning.credit_ledger.insert_many([
        {"_id": f"{tag}l{i}", "resident_id": r, "kind": kind, "amount": n, "at": at}
        for i, (r, kind, n, at) in enumerate([(resident[0], "completion", 3, "2021-04-10T03:00:00+00:00"),
                                              (resident[1], "completion", 2, "2021-04-30T17:00:00+00:00"),
                                              (resident[1], "correction", -1, "2021-04-12T03:00:00+00:00")])])
    rows = {r["month"]: r for r in rpc.elearning.elearning_report(district, "learning", "2021-04", "2021-05")["rows"]}
    # the second completion, 30 April 17:00 UTC, is 1 May in the district
    assert (rows["2021-04"]["active"], rows["2021-04"]["completions"], rows["2021-04"]["credits"]) == (2, 1, 2)
    assert (rows["2021-05"]["active"], rows["2021-05"]["completions"], rows["2021-05"]["credits"]) == (1, 1, 2)

    # wallet: two schools' terminals, charges and a refund booked in 2021-06
    school_a, school_b = f"S{tag}A", f"S{tag}B"
    learning.wallet_terminals.insert_many([{"_id": f"T{tag}1", "school_id": school_a},
                                           {"_id": f"T{tag}2", "school_id": school_b}])
    moves = [(f"T{tag}1", "charge", -1200), (f"T{tag}1", "charge", -800), (f"T{tag}1", "refund", 300),
             (f"T{tag}2", "charge", -450)]
    learning.wallet_ledger.insert_many([{"_id": f"{tag}w{i}", "student_id": "x", "kind": kind, "amount_fen": fen,
                                         "month": "2021-06", "terminal_id": t} for i, (t, kind, fen) in enumerate(moves)])
    page = supervisor.get("/console/reports/wallet?since=2021-06&until=2021-06")
    shown = {row[0]: row[1:] for row in table_of(page.text)}
    for school in (school_a, school_b):
        charged = -sum(f for t, k, f in moves if k == "charge" and t.endswith("1" if school == school_a else "2"))
        refunded = sum(f for t, k, f in moves if k == "refund" and t.endswith("1" if school == school_a else "2"))
        count = sum(1 for t, k, _ in moves if k == "charge" and t.endswith("1" if school == school_a else "2"))
        assert shown[school] == [str(count), str(charged / 100), str(refunded / 100), str((charged - refunded) / 100)]
    assert [c for c in rpc.elearning.elearning_report(district, "wallet", "2021-06", "2021-06")["columns"]] == [
        {"key": k, "name": n} for k, n in (("school", "学校"), ("charges", "消费笔数"), ("charged", "消费金额（元）"),
                                           ("refunded", "退款金额（元）"), ("net", "净消费（元）"))]   # totals only


def _same(value):
    """A cell as a number when it reads as one (XLSX keeps 3.0 as 3), else its text."""
    if value is None or value == "—":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


_MATTERS = {}


def _matter_name(rpc, code):
    if not _MATTERS:
        _MATTERS.update({m["code"]: m["name"] for m in rpc.community.list_matters(True)})
    return _MATTERS[code]
