"""Hot reads go through an index on whatever store ``MONGO_URI`` points to: the embedded
store explains with SQLite's plan (``SEARCH ... USING INDEX``), MongoDB with ``IXSCAN``."""
import json
import uuid

import pytest

from services.common.storage import ensure_indexes
from services.community import cases_store
from services.community import store as community_store
from services.library import store as library_store


def uses_index(explain: dict) -> bool:
    plan = json.dumps(explain.get("queryPlanner", {}).get("winningPlan"))
    return "USING INDEX" in plan or "USING COVERING INDEX" in plan or "IXSCAN" in plan


@pytest.fixture
def library_db(db):
    database = db(f"plans_{uuid.uuid4().hex[:8]}")
    ensure_indexes(database, library_store.INDEXES)
    holds = database[library_store.HOLDS]
    holds.insert_many([{"_id": f"h{i}", "patron": f"p{i % 7}", "title_id": f"T{i % 5}", "status": "waiting",
                        "queue": f"T{i % 5}" if i % 3 else None, "queue_key": f"2026-01-01T00:00:{i:02d}|h{i}"}
                       for i in range(60)])
    yield database
    database.client.drop_database(database.name)


def test_a_titles_hold_queue_is_read_through_an_index(library_db):
    """Every checkout and return reads its title's queue: it scanned every hold ever kept."""
    holds = library_db[library_store.HOLDS]
    assert uses_index(holds.find({"queue": "T1"}).limit(50).explain())
    assert uses_index(holds.find({"queue": "T1"}).sort("queue_key", 1).limit(1).explain())
    assert uses_index(holds.find({"patron": "p1"}).limit(200).explain())


def test_a_committees_open_cases_are_read_through_an_index(db):
    database = db(f"plans_{uuid.uuid4().hex[:8]}")
    try:
        ensure_indexes(database, community_store.INDEXES)
        cases = database[community_store.CASES]
        cases.insert_many([{"_id": f"c{i}", "queue_key": f"C000{i % 3}|2026-12-{i % 28 + 1:02d}|c{i}"} for i in range(30)])
        assert uses_index(cases.find({"queue_key": {"$gt": "C0001|", "$lt": "C0001|\uffff"}})
                          .sort("queue_key", 1).limit(21).explain())
    finally:
        database.client.drop_database(database.name)


def test_a_committees_away_lists_and_declarations_to_confirm_are_read_through_an_index(db):
    """Both 人户分离 lists and the declarations waiting: each page one range of one key."""
    from services.community import residents_store
    database = db(f"plans_{uuid.uuid4().hex[:8]}")
    try:
        ensure_indexes(database, community_store.INDEXES)
        residents = database[community_store.RESIDENTS]
        residents.insert_many([{"_id": f"r{i}", "id_number": f"n{i}", "residence": {"committee": f"C000{i % 3}"},
                                "living_here_key": f"C000{i % 3}|张{i}|r{i}", "registered_here_key": f"C000{i % 4}|李{i}|r{i}",
                                **({"pending_key": f"C000{i % 2}|2026-12-0{i % 9 + 1}|r{i}"} if i % 5 == 0 else {})}
                               for i in range(40)])
        for key in ("living_here_key", "registered_here_key", "pending_key"):
            for after in (None, "张1|r1"):
                query = residents.find(residents_store.range_filter(key, "C0001", after)).sort(key, 1).limit(51)
                assert uses_index(query.explain()), (key, after)
        page, _ = residents_store.pending_for(database, "C0000", None, 50)
        assert [r["_id"] for r in page] and all(int(r["_id"][1:]) % 10 == 0 for r in page)
    finally:
        database.client.drop_database(database.name)


def test_the_deadline_timer_reads_due_keys_through_an_index_after_rewriting_an_earlier_versions_dates(db):
    from services.common.storage import due_key

    database = db(f"plans_{uuid.uuid4().hex[:8]}")
    try:
        ensure_indexes(database, community_store.INDEXES)
        cases = database[community_store.CASES]
        cases.insert_many([{"_id": "kept-by-an-earlier-version", "watch": "2026-12-01"},
                           {"_id": "now", "watch": due_key("2026-12-02")}, {"_id": "later", "watch": due_key("2026-12-09")}])
        cases_store.rekey_watch(database)   # as the service's Store does when it starts
        assert sorted(c["_id"] for c in cases_store.watched_cases(database, "2026-12-03")) == [
            "kept-by-an-earlier-version", "now"]
        assert cases.find_one({"_id": "kept-by-an-earlier-version"})["watch"] == due_key("2026-12-01")
        assert uses_index(cases.find({"watch": {"$gte": "d|", "$lte": due_key("2026-12-03")}}).limit(1000).explain())
        # a process of the earlier version, still running in a rolling upgrade, writes a plain date
        cases.insert_one({"_id": "written-by-an-old-process-after-the-rewrite", "watch": "2026-12-02"})
        assert sorted(c["_id"] for c in cases_store.watched_cases(database, "2026-12-03")) == [
            "kept-by-an-earlier-version", "now", "written-by-an-old-process-after-the-rewrite"]
        assert uses_index(cases.find({"watch": {"$gte": "0", "$lte": "2026-12-03"}}).limit(1000).explain())
    finally:
        database.client.drop_database(database.name)


def test_every_page_of_conflicts_and_a_copys_loans_are_read_through_an_index(library_db):
    """Whatever filters a librarian sets, a page is one range of one indexed key; the loans
    around a conflict are read by the copy's barcode."""
    from contracts.rpc.library import ConflictFiltersV1
    from services.library import conflicts
    rows = [{"_id": f"k{i}", "status": ("open", "resolved")[i % 2], "kiosk_id": f"K-{i % 4}",
             "kind": ("unresolved", "stale_checkout", "implied_return")[i % 3],
             "at": f"2026-12-0{i % 7 + 1}T0{i % 10}:00:00+00:00", "event": {}} for i in range(80)]
    library_db[library_store.CONFLICTS].insert_many([{**r, **conflicts.keys(r)} for r in rows])
    for filters in ({}, {"kind": "stale_checkout"}, {"location": "K-1"}, {"kind": "unresolved", "location": "K-2"},
                    {"location": "K-1", "since": "2026-12-02", "until": "2026-12-04"}):
        where = conflicts.page_range("open", ConflictFiltersV1(**filters))
        found = library_db[library_store.CONFLICTS].find(where.query(None)).sort(where.field, 1).limit(26)
        assert uses_index(found.explain()), filters
    history = library_db[library_store.LOAN_HISTORY]
    history.insert_many([{"_id": f"l{i}", "barcode": f"B{i % 9}", "patron": f"p{i % 5}"} for i in range(60)])
    assert uses_index(history.find({"barcode": "B3"}).limit(500).explain())
