"""Reports: each console report as its service computes it (the aggregation of ``reports_store``
and the table of ``reports``, without the RPC), with N cases across 1,300 committees in 60
sub-districts, as a multiple of a find by _id on the same store in the same run. The library's
and e-learning's reports run over rows in proportion (a tenth as many loans, progress and
wallet entries; a fifth as many residents).

    python -m bench.bench_reports [--cases 1000000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import random
import statistics
from datetime import datetime, timedelta, timezone

from tqdm import tqdm

from bench.common import store, summary, timed
from services.common import report_tables
from services.common.storage import ensure_indexes
from services.community import reports as community_reports, reports_store as community_store
from services.community import store as community_collections
from services.elearning import reports as learning_reports, reports_store as learning_store
from services.elearning import store as learning_collections
from services.library import reports as library_reports, reports_store as library_store
from services.library import store as library_collections

SUBDISTRICTS, COMMITTEES = 60, 1300
MATTERS = ["ELDERLY_ALLOWANCE", "RESIDENCE_PERMIT", "MINIMUM_LIVING", "HOUSEHOLD_CERTIFICATE", "COMMUNITY_VENUE"]
MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]
CHUNK = 10_000


def committee(i: int) -> str:
    return f"C{i % COMMITTEES:04d}"


PARENTS = {committee(c): f"SD{c % SUBDISTRICTS:02d}" for c in range(COMMITTEES)}   # {committee: sub-district}


def places() -> list[dict]:
    out = [{"_id": f"SD{s:02d}", "kind": "subdistrict", "name": f"街镇{s}"} for s in range(SUBDISTRICTS)]
    out += [{"_id": committee(c), "kind": "committee", "name": f"居委{c}", "parent": f"SD{c % SUBDISTRICTS:02d}"}
            for c in range(COMMITTEES)]
    return out


def make_case(i: int, rng: random.Random) -> dict:
    """A case as the community service keeps it, with its report fields set the service's way
    (``reports.with_figures``); a tenth handed on from another committee, a third of the closed
    ones rated."""
    handling = committee(rng.randrange(COMMITTEES))
    accepting = handling if rng.random() > 0.1 else committee(rng.randrange(COMMITTEES))
    status = rng.choice(["accepted", "in_progress", "completed", "completed", "rejected", "withdrawn"])
    submitted = datetime(2026, rng.randint(1, 12), rng.randint(1, 28), rng.randrange(24), tzinfo=timezone.utc)
    closed = submitted + timedelta(days=rng.randrange(30))
    trail = [{"at": submitted.isoformat(), "action": "submit"}]
    if status in community_reports.CLOSED:
        trail.append({"at": closed.isoformat(), "action": "complete" if status == "completed" else "reject"})
    case = {"_id": f"case{i:08d}", "handling_committee": handling, "accepting_committee": accepting,
            "matter_code": rng.choice(MATTERS), "status": status, "submitted_at": submitted.isoformat(),
            "deadline": (submitted + timedelta(days=rng.choice([14, 21, 40]))).date().isoformat(), "trail": trail,
            "version": len(trail)}
    if status in community_reports.CLOSED and rng.random() < 0.3:
        case["rating"] = {"score": rng.randint(1, 5), "comment": ""}
    return community_reports.with_figures(case, PARENTS.get)


def make_resident(i: int, rng: random.Random) -> dict:
    lives, registered = committee(rng.randrange(COMMITTEES)), committee(rng.randrange(COMMITTEES))
    doc = {"_id": f"r{i:08d}", "name": "居民", "residence": {"committee": lives}, "registered_committee": registered}
    if rng.random() < 0.15:   # living away from their registration: the sparse keys
        doc.update(living_here_key=f"{lives}|居民|{doc['_id']}", registered_here_key=f"{registered}|居民|{doc['_id']}")
    else:
        doc["registered_committee"] = lives
    return doc


def stamp(rng: random.Random) -> str:
    return f"{rng.choice(MONTHS)}-{rng.randint(1, 28):02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00+00:00"


def populate(collection, n: int, make, desc: str, seed: int) -> None:
    rng = random.Random(seed)
    with tqdm(total=n, unit="doc", desc=desc) as bar:
        for start in range(0, n, CHUNK):
            collection.insert_many([make(i, rng) for i in range(start, min(n, start + CHUNK))], ordered=False)
            bar.update(min(CHUNK, n - start))


def run(n: int, repeat: int) -> None:
    with store() as (client, where):
        names = ("bench_reports_community", "bench_reports_library", "bench_reports_elearning")
        for name in names:
            client.drop_database(name)
        community, library, learning = (client[name] for name in names)
        ensure_indexes(community, {c: community_collections.INDEXES[c] for c in
                                   (community_collections.CASES, community_collections.RESIDENTS)})
        ensure_indexes(library, {c: library_collections.INDEXES[c] for c in
                                 (library_collections.LOAN_HISTORY, library_collections.KIOSK_HOURS,
                                  library_collections.CONFLICTS, library_collections.KIOSKS)})
        ensure_indexes(learning, {c: learning_collections.INDEXES[c] for c in learning_collections.INDEXES
                                  if c in ("progress", "credit_ledger", "wallet_ledger")})
        populate(community[community_collections.CASES], n, make_case, "cases", 7)
        populate(community[community_collections.RESIDENTS], n // 5, make_resident, "residents", 8)
        locations = [f"L{k:03d}" for k in range(300)]
        populate(library[library_collections.LOAN_HISTORY], n // 10, lambda i, rng: _loan(i, rng.choice(locations),
                                                                                      stamp(rng)), "loans", 9)
        populate(library[library_collections.KIOSK_HOURS], 300 * 24 * 30, lambda i, rng: {
            "_id": f"{locations[i % 300]}|{i // 300}", "kiosk": locations[i % 300],
            "hour": f"2026-06-{1 + i // 300 // 24:02d}T{i // 300 % 24:02d}"}, "kiosk hours", 10)
        library[library_collections.KIOSKS].insert_many([{"_id": k, "status": "online"} for k in locations])
        populate(library[library_collections.CONFLICTS], n // 100, lambda i, rng: {
            "_id": f"c{i:08d}", "kiosk_id": rng.choice(locations), "status": rng.choice(["open", "resolved"]),
            "at": stamp(rng)}, "conflicts", 11)
        populate(learning["progress"], n // 10, lambda i, rng: {
            "_id": f"p{i:08d}", "enrolment": f"r{rng.randrange(n // 5):08d}|course{rng.randrange(200)}",
            "at": stamp(rng)}, "progress", 12)
        populate(learning["credit_ledger"], n // 20, lambda i, rng: {
            "_id": f"l{i:08d}", "kind": "completion", "amount": rng.randint(1, 4), "at": stamp(rng)}, "credits", 13)
        terminals = {f"T{t:03d}": f"S{t % 40:02d}" for t in range(200)}
        populate(learning["wallet_ledger"], n // 10, lambda i, rng: {
            "_id": f"w{i:08d}", "kind": rng.choice(["charge", "charge", "charge", "refund"]),
            "amount_fen": rng.randint(100, 2000), "month": rng.choice(MONTHS), "terminal_id": rng.choice(list(terminals))},
            "wallet", 14)

        rng = random.Random(1)
        every = places()
        district, whole = community_reports.scope(_Actor("supervisor", None), every, None)[1], None
        one, sd = community_reports.scope(_Actor("supervisor", "SD07"), every, None)[1], "SD07"
        names_of, names_sd = community_reports.place_names(every, None), community_reports.place_names(every, sd)
        since, until = MONTHS[0], MONTHS[-1]
        low, high = report_tables.utc_bounds(since, until)
        ids = iter([f"case{rng.randrange(n):08d}" for _ in range(400)])
        base = timed(lambda: community[community_collections.CASES].find_one({"_id": next(ids)}), 200)
        baseline = statistics.median(base)

        def community_report(figure, table, units, names, chosen, first=since):
            groups = community_store.grouped(community, figure, first, until, chosen)
            if figure == "cases":
                return table(groups, units, names, {}, first, until, chosen)
            return table(groups, units, names, first, until, chosen)
        reports = {
            "community: cases by month, matter (district, 12 months)": lambda: community_report(
                "cases", community_reports.cases_table, district, names_of, whole),
            "community: cases ... (district, 3 months)": lambda: community_report(
                "cases", community_reports.cases_table, district, names_of, whole, "2026-10"),
            "community: cases ... (one sub-district, 12 months)": lambda: community_report(
                "cases", community_reports.cases_table, one, names_sd, sd),
            "community: on-time rate, median days (district)": lambda: community_report(
                "closed", community_reports.timeliness_table, district, names_of, whole),
            "community: on-time ... (one sub-district)": lambda: community_report(
                "closed", community_reports.timeliness_table, one, names_sd, sd),
            "community: ratings (district)": lambda: community_report(
                "rated", community_reports.ratings_table, district, names_of, whole),
            "community: living away (district)": lambda: community_reports.away_table(
                *community_store.away(community), district, PARENTS, names_of, whole),
            "library: loans by location and hour": lambda: library_reports.loans_table(
                library_store.loans(library, since, until), {}, since, until),
            "library: kiosks' uptime and conflicts": lambda: library_reports.kiosks_table(
                library_store.kiosks(library), library_store.hours_heard(library, low, high),
                library_store.conflicts(library, low, high), {}, since, until, _now()),
            "elearning: learners, completions, credits": lambda: learning_reports.learning_table(
                learning_store.progress(learning, low, high), learning_store.credits(learning, low, high), since, until),
            "elearning: wallet spending per school": lambda: learning_reports.wallet_table(
                learning_store.wallet_spending(learning, since, until), terminals, {}, since, until),
        }
        print(f"\nreports, {n:,} cases across {COMMITTEES:,} committees ({n // 5:,} residents, {n // 10:,} loans, "
              f"{n // 10:,} progress rows, {n // 10:,} wallet entries), on {where}")
        print(summary("baseline: find_one by _id", base))
        for name, report in reports.items():
            print(summary(name, timed(report, repeat), baseline), flush=True)
        for name in names:
            client.drop_database(name)


def _loan(i: int, location: str, at: str) -> dict:
    return {"_id": f"loan{i:08d}", "location": location, "loaned_at": at,
            "report_key": library_reports.loan_key(at, location)}   # as the library keeps it


class _Actor:
    def __init__(self, role: str, subdistrict: str | None):
        self.role, self.subdistrict = role, subdistrict


def _now() -> datetime:
    return datetime(2027, 1, 1, tzinfo=timezone.utc)   # after the period: every hour of it counts


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    run(args.cases, args.repeat)
