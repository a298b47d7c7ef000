"""What the suite relies on from its document store, checked against whatever
``MONGO_URI`` points to (the embedded store by default, MongoDB in the compose run).

Each assertion names a pattern the code uses; if a store breaks one, this fails first.
"""
import uuid

import eventlet
import pymongo
import pytest

from services.common.storage import ensure_indexes, merge_updates


@pytest.fixture
def coll(db):
    return db("store")[f"c_{uuid.uuid4().hex[:8]}"]


def test_map_fields_set_and_unset_by_path(coll):
    """Outbox entries live in a map keyed by event id (not pushed onto an array)."""
    coll.insert_one({"_id": 1, "outbox": {}, "n": 0})
    coll.update_one({"_id": 1}, {"$set": {"outbox.e1": {"id": "e1", "data": {"xs": [1, {"k": "中文"}]}}},
                                 "$inc": {"n": 1}})
    coll.update_one({"_id": 1}, {"$set": {"outbox.e2": {"id": "e2"}}, "$inc": {"n": 1}})
    assert coll.find_one({"_id": 1, "outbox.e1": {"$exists": True}})["outbox"]["e1"]["data"]["xs"][1] == {"k": "中文"}
    r = coll.update_one({"_id": 1, "outbox.e1": {"$exists": True}}, {"$unset": {"outbox.e1": ""}, "$inc": {"n": -1}})
    assert r.modified_count == 1
    r = coll.update_one({"_id": 1, "outbox.e1": {"$exists": True}}, {"$unset": {"outbox.e1": ""}, "$inc": {"n": -1}})
    assert r.matched_count == 0  # a second relay cannot count it off twice
    assert coll.find_one({"_id": 1}) == {"_id": 1, "outbox": {"e2": {"id": "e2"}}, "n": 1}


def test_nin_guard_on_an_array_of_ids(coll):
    """The inbox guard: ``$nin`` on an array of strings, pushed with ``$slice``."""
    coll.insert_one({"_id": 1, "inbox": ["a", "b"]})
    assert coll.find_one({"_id": 1, "inbox": {"$nin": ["b"]}}) is None
    assert coll.find_one({"_id": 1, "inbox": {"$nin": ["c"]}}) is not None
    coll.update_one({"_id": 1}, {"$push": {"inbox": {"$each": ["c", "d"], "$slice": -3}}})
    assert coll.find_one({"_id": 1})["inbox"] == ["b", "c", "d"]


def test_guarded_upsert_on_an_existing_document_is_a_duplicate_key(coll):
    coll.insert_one({"_id": 1, "inbox": ["e"]})
    with pytest.raises(pymongo.errors.DuplicateKeyError):
        coll.update_one({"_id": 1, "inbox": {"$nin": ["e"]}}, {"$set": {"x": 1}}, upsert=True)
    coll.update_one({"_id": 2, "inbox": {"$nin": ["e"]}},
                    {"$setOnInsert": {"card": {"no": "1"}}, "$push": {"inbox": {"$each": ["e"], "$slice": -5}}},
                    upsert=True)
    assert coll.find_one({"_id": 2}) == {"_id": 2, "card": {"no": "1"}, "inbox": ["e"]}


def test_atomic_increments_under_green_threads(coll):
    """pymongo under eventlet: 20 green threads, no lost update."""
    coll.insert_one({"_id": 1, "n": 0})
    pool = eventlet.GreenPool(20)
    for _ in range(100):
        pool.spawn_n(coll.update_one, {"_id": 1}, {"$inc": {"n": 1}})
    pool.waitall()
    assert coll.find_one({"_id": 1})["n"] == 100


def test_unique_index_holds_under_concurrent_inserts(coll):
    ensure_indexes(coll.database, {coll.name: [pymongo.IndexModel([("k", 1)], unique=True, name="k")]})

    def insert(i):
        try:
            coll.insert_one({"_id": i, "k": "same"})
            return True
        except pymongo.errors.DuplicateKeyError:
            return False
    outcomes = list(eventlet.GreenPool(10).imap(insert, range(10)))
    assert outcomes.count(True) == 1
    assert len(list(coll.find({"k": "same"}))) == 1


def test_count_with_aggregate_and_range_on_an_indexed_field(coll):
    coll.create_index("pending")
    coll.insert_many([{"_id": i, "pending": i % 3} for i in range(30)])
    assert list(coll.aggregate([{"$match": {"pending": 2}}, {"$count": "n"}])) == [{"n": 10}]
    assert sorted(d["_id"] for d in coll.find({"pending": {"$gt": 1}}).limit(100)) == list(range(2, 30, 3))


def test_merge_updates_refuses_to_set_a_field_twice():
    assert merge_updates({"$set": {"a": 1}}, {"$set": {"b": 2}, "$inc": {"n": 1}}) == {
        "$set": {"a": 1, "b": 2}, "$inc": {"n": 1}}
    with pytest.raises(ValueError):
        merge_updates({"$set": {"a": 1}}, {"$set": {"a": 2}})


def test_all_on_an_indexed_array_finds_every_match(coll):
    """Search keys live in an indexed array: they are queried with $all (the embedded store
    answers plain equality on an indexed array wrongly)."""
    coll.create_index("keywords")
    coll.insert_many([{"_id": i, "keywords": [f"k{i % 5}", "common"]} for i in range(50)])
    assert len(list(coll.find({"keywords": {"$all": ["k3"]}}))) == 10
    assert len(list(coll.find({"keywords": {"$all": ["k3", "common"]}}))) == 10


def test_range_of_one_indexed_key_is_the_queue_shape(coll):
    """The staff queue reads committee|deadline|id keys by range, sorted by the same field."""
    coll.create_index("queue_key", sparse=True)
    coll.insert_many([{"_id": i, "queue_key": f"C{i % 3}|2026-01-{1 + i % 28:02d}|{i:03d}"} for i in range(90)])
    coll.insert_one({"_id": "closed"})  # no key: not in any queue
    page = list(coll.find({"queue_key": {"$gt": "C1|", "$lt": "C1|\uffff"}}).sort("queue_key", 1).limit(5))
    keys = [d["queue_key"] for d in page]
    assert keys == sorted(keys) and all(k.startswith("C1|") for k in keys) and len(keys) == 5
    rest = list(coll.find({"queue_key": {"$gt": keys[-1], "$lt": "C1|\uffff"}}).sort("queue_key", 1))
    assert len(keys) + len(rest) == 30


def test_max_keeps_the_newest_time(coll):
    """Kiosk last-seen times arrive out of order: $max keeps the newest."""
    coll.insert_one({"_id": 1, "last_seen": "2026-11-25T10:00:00+00:00"})
    coll.update_one({"_id": 1}, {"$max": {"last_seen": "2026-11-25T09:00:00+00:00"}})
    assert coll.find_one({"_id": 1})["last_seen"] == "2026-11-25T10:00:00+00:00"
    coll.update_one({"_id": 1}, {"$max": {"last_seen": "2026-11-25T11:00:00+00:00"}})
    assert coll.find_one({"_id": 1})["last_seen"] == "2026-11-25T11:00:00+00:00"


def test_booleans_written_by_set_still_match_and_are_truthy(coll):
    """The embedded store reads back a boolean written by $set as 0/1 (an insert keeps it):
    code tests booleans for truth, queries by True still match, results wrap them in bool()."""
    coll.insert_one({"_id": 1, "public": True, "done": False})
    coll.update_one({"_id": 1}, {"$set": {"public": True, "done": True}})
    doc = coll.find_one({"_id": 1})
    assert doc["public"] and doc["done"] and bool(doc["done"]) is True
    assert coll.find_one({"public": True}) is not None


def test_an_upsert_by_set_keeps_the_id_it_was_asked_for(coll):
    """Named documents (loan rules, places) are written with ``update_one($set, upsert)``: on the
    embedded store a ``replace_one`` upsert stores a new ObjectId instead of the ``_id`` asked for."""
    coll.update_one({"_id": "adults"}, {"$set": {"loan_days": 30}}, upsert=True)
    coll.update_one({"_id": "adults"}, {"$set": {"loan_days": 21}}, upsert=True)
    assert list(coll.find()) == [{"_id": "adults", "loan_days": 21}]


def test_the_timers_read_of_dates_before_a_bound(coll):
    """What the deadline, overdue, hold-expiry and session timers ask (``storage.before``).
    The embedded store's ``find`` answered nothing for values that begin with a date and go
    on, and filtered plain dates in Python, scanning."""
    from services.common.storage import before

    coll.create_index("when", sparse=True)
    coll.insert_many([{"_id": "d3", "when": "2026-01-03"}, {"_id": "d4x", "when": "2026-01-04|x"},
                      {"_id": "d5", "when": "2026-01-05"}, {"_id": "d5t", "when": "2026-01-05T08:00:00+00:00"},
                      {"_id": "d7", "when": "2026-01-07"}, {"_id": "none"}])
    assert sorted(d["_id"] for d in before(coll, "when", "2026-01-05", 10)) == ["d3", "d4x"]
    assert sorted(d["_id"] for d in before(coll, "when", "2026-01-05", 10, inclusive=True)) == ["d3", "d4x", "d5"]
    assert len(before(coll, "when", "2027-01-01", 2)) == 2
    assert before(coll, "when", "2026-01-03", 10) == []


def test_due_keys_are_read_by_range_with_plain_dates_of_an_earlier_version_until_they_are_rewritten(coll):
    """The timers' watch fields (``storage.due_key``): a range of prefixed keys, read through
    the index; values kept as plain dates (an earlier version's, even one still running after
    the rewrite) are read too, and rewritten once."""
    from services.common.storage import due_by, due_key, rekey_due

    coll.create_index("watch", sparse=True)
    coll.insert_many([{"_id": "new3", "watch": due_key("2026-01-03")}, {"_id": "old4", "watch": "2026-01-04"},
                      {"_id": "new5", "watch": due_key("2026-01-05T08:00:00+00:00")},
                      {"_id": "old7", "watch": "2026-01-07"}, {"_id": "none"}, {"_id": "word", "watch": "-"}])
    for _ in range(2):   # before the rewrite, and after it
        assert sorted(d["_id"] for d in due_by(coll, "watch", "2026-01-05", 10)) == ["new3", "old4"]
        assert sorted(d["_id"] for d in due_by(coll, "watch", "2026-01-07", 10, inclusive=True)) == \
            ["new3", "new5", "old4", "old7"]
        assert [d["_id"] for d in due_by(coll, "watch", "2026-01-07", 1)] == ["new3"]   # due keys first
        assert rekey_due(coll, "watch") in (0, 2)
    assert rekey_due(coll, "watch") == 0
    assert coll.find_one({"_id": "old7"})["watch"] == due_key("2026-01-07") and "watch" not in coll.find_one({"_id": "none"})
    coll.insert_one({"_id": "late6", "watch": "2026-01-06"})   # an old process still running
    assert [d["_id"] for d in due_by(coll, "watch", "2026-01-06", 10, inclusive=True) if not d["watch"].startswith("d|")] \
        == ["late6"]


def test_strings_that_begin_with_a_date_are_compared_as_strings(coll):
    """User-chosen ids may begin with a date (a course ``2026-09-01-math``, a client
    ``2024-01-01-app``). nx-27017 0.8.1 compared such strings as dates and found nothing for
    the longer ones; the suite starts it with strings compared as strings (``infra/store_server.py``)."""
    coll.create_index("k")
    ids = ["2026-09-01-math", "2026-01-05|x", "01/15/2024 desk", "2026-01-05", "2026-01-05T10:00:00"]
    coll.insert_many([{"_id": i, "k": i} for i in ids] + [{"_id": "2026-01-05 10:00:00", "k": "2026-01-05 10:00:00"}])
    for i in ids:
        assert coll.find_one({"_id": i})["k"] == i and coll.find_one({"k": i})["_id"] == i
        assert coll.update_one({"_id": i}, {"$set": {"seen": True}}).matched_count == 1
    # the same time written two ways is two strings, as on MongoDB
    assert [d["_id"] for d in coll.find({"k": "2026-01-05T10:00:00"})] == ["2026-01-05T10:00:00"]
    assert sorted(d["_id"] for d in coll.find({"k": {"$gte": "2026-01-05|", "$lt": "2026-01-05|~"}})) == ["2026-01-05|x"]
    assert sorted(d["_id"] for d in coll.find({"k": {"$gt": "2026-01-05", "$lt": "2026-01-06"}})) == \
        ["2026-01-05 10:00:00", "2026-01-05T10:00:00", "2026-01-05|x"]
    assert coll.delete_one({"k": "2026-09-01-math"}).deleted_count == 1


def test_collections_and_indexes_made_or_dropped_between_reads_are_seen(db):
    """The embedded store keeps its schema reads (``infra/store_server.py``) until the schema
    changes: a collection dropped or made again, and an index made or dropped, between
    two reads, is seen by the second."""
    database = db("store")
    name = f"c_{uuid.uuid4().hex[:8]}"
    coll = database[name]
    assert coll.find_one({}) is None and name not in database.list_collection_names()
    coll.insert_one({"_id": 1, "k": "a"})
    assert name in database.list_collection_names() and coll.find_one({"k": "a"})["_id"] == 1
    def indexed_keys():
        return [index["key"] for index in coll.index_information().values()]
    index = coll.create_index("k")
    assert [("k", 1)] in indexed_keys() and coll.find_one({"k": "a"})["_id"] == 1
    coll.drop_index(index)
    assert [("k", 1)] not in indexed_keys() and coll.find_one({"k": "a"})["_id"] == 1
    coll.drop()
    assert coll.find_one({}) is None and name not in database.list_collection_names()
    coll.insert_one({"_id": 2, "k": "b"})
    assert [d["_id"] for d in coll.find({})] == [2]
    coll.drop()
