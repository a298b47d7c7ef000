"""Staff queue: one page of a committee's open cases by deadline, with N cases across 1,300
committees, as a multiple of a find by _id on the same store; and the plan it uses. Also the
deadline timer's read (every minute, in every community process): the cases whose deadline
is near (``cases_store.watched_cases``, one range of due keys).

    python -m bench.bench_staff_queue [--cases 1000000]
"""
from __future__ import annotations

import argparse
import random
import statistics
from datetime import date, timedelta

from tqdm import tqdm

from bench.common import store, summary, timed
from services.common.storage import due_key, ensure_indexes
from services.community import cases_store
from services.community import store as community_store

COMMITTEES = 1300
STATUSES = ["submitted", "accepted", "in_progress", "supplement_required", "completed", "rejected"]
MATTERS = ["ELDERLY_ALLOWANCE", "RESIDENCE_PERMIT", "MINIMUM_LIVING", "HOUSEHOLD_CERTIFICATE"]


def make_case(i: int, rng: random.Random) -> dict:
    committee = f"C{i % COMMITTEES:04d}"
    status = rng.choice(STATUSES)
    deadline = (date(2026, 1, 1) + timedelta(days=rng.randrange(400))).isoformat()
    case = {"_id": f"case{i:08d}", "number": f"D{committee}-{i:08d}", "resident_id": f"r{rng.randrange(10**7)}",
            "matter_code": rng.choice(MATTERS), "status": status, "handling_committee": committee,
            "accepting_committee": committee, "deadline": deadline, "version": 2,
            "trail": [{"at": "2026-01-01T09:00:00+08:00", "action": "submit", "to": "submitted"}]}
    open_ = status not in ("completed", "rejected")
    case["queue"] = committee if open_ else None
    case["deadline_key"] = f"{deadline}|{case['_id']}"
    if open_:
        case["queue_key"] = f"{committee}|{case['deadline_key']}"
    if status in ("accepted", "in_progress"):
        case["watch"] = due_key(deadline)   # as cases.py keeps it: what the deadline timer looks for
    return case


def populate(db, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    batch = []
    with tqdm(total=n, unit="case", desc="cases") as bar:
        for i in range(n):
            batch.append(make_case(i, rng))
            if len(batch) == 10_000:
                db[community_store.CASES].insert_many(batch, ordered=False)
                bar.update(len(batch))
                batch = []
        if batch:
            db[community_store.CASES].insert_many(batch, ordered=False)
            bar.update(len(batch))


def run(n: int, repeat: int = 200) -> None:
    with store() as (client, where):
        db = client["bench_community"]
        client.drop_database("bench_community")
        ensure_indexes(db, {community_store.CASES: community_store.INDEXES[community_store.CASES]})
        populate(db, n)
        rng = random.Random(1)
        ids = [f"case{rng.randrange(n):08d}" for _ in range(repeat)]
        it = iter(ids * 2)
        base = timed(lambda: db[community_store.CASES].find_one({"_id": next(it)}), repeat)
        baseline = statistics.median(base)
        committees = iter([f"C{rng.randrange(COMMITTEES):04d}" for _ in range(repeat * 3)])
        first = timed(lambda: cases_store.queue_page(db, next(committees), status=None, matter_code=None,
                                                     after=None, limit=20), repeat)
        cursors = []
        for _ in range(repeat):
            c = next(committees)
            cursors.append((c, cases_store.queue_page(db, c, status=None, matter_code=None, after=None,
                                                      limit=20)[1]))
        pages = iter(cursors)

        def next_page():
            committee, cursor = next(pages)
            cases_store.queue_page(db, committee, status=None, matter_code=None, after=cursor, limit=20)
        second = timed(next_page, repeat)
        filtered = timed(lambda: cases_store.queue_page(db, next(committees), status="accepted",
                                                        matter_code=None, after=None, limit=20), repeat)
        print(f"\nstaff queue, {n:,} cases across {COMMITTEES:,} committees, on {where}")
        print(summary("baseline: find_one by _id", base))
        print(summary("queue: first page (20, by deadline)", first, baseline))
        print(summary("queue: next page by cursor", second, baseline))
        print(summary("queue: first page, status filter", filtered, baseline))
        # a day with a few cases due (the timer's usual minute)
        day = (date(2026, 1, 1) + timedelta(days=1)).isoformat()
        for by in ("2025-12-31", day):   # none due yet (most minutes), then a few
            due = len(cases_store.watched_cases(db, by))
            timer = timed(lambda: cases_store.watched_cases(db, by), max(10, repeat // 10))
            print(summary(f"deadline timer: cases due by {by} ({due})", timer, baseline))
        plan = db[community_store.CASES].find({"queue_key": {"$gt": "C0001|", "$lt": "C0001|\uffff"}}).sort(
            "queue_key", 1).limit(21).explain()
        print("plan:", _plan(plan))
        client.drop_database("bench_community")


def _plan(explain: dict) -> str:
    planner = explain.get("queryPlanner", {})
    winning = planner.get("winningPlan")
    return str(winning)[:400]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    run(args.cases, args.repeat)
