"""What the library process keeps briefly to spare the store: reference data
(services/library/reference.py) and when it last wrote a kiosk's status (kiosks.RecentlySeen)."""
import uuid

from services.library import reference


class Database:
    """What reference.cached needs of a pymongo Database: its name."""

    def __init__(self, name):
        self.name = name


def test_found_values_are_kept_for_the_ttl_and_misses_never(monkeypatch):
    db, loads = Database(uuid.uuid4().hex), []

    def load(value):
        loads.append(value)
        return value

    assert reference.cached(db, "locations", "K1", lambda: load({"kind": "kiosk"})) == {"kind": "kiosk"}
    assert reference.cached(db, "locations", "K1", lambda: load({"kind": "changed"})) == {"kind": "kiosk"}
    assert reference.cached(db, "locations", "K2", lambda: load(None)) is None
    assert reference.cached(db, "locations", "K2", lambda: load({"kind": "library"})) == {"kind": "library"}
    assert loads == [{"kind": "kiosk"}, None, {"kind": "library"}]

    now = reference.time.monotonic()
    monkeypatch.setattr(reference.time, "monotonic", lambda: now + reference.TTL + 1)
    assert reference.cached(db, "locations", "K1", lambda: load({"kind": "changed"})) == {"kind": "changed"}


def test_forget_drops_one_kind_of_one_database_only():
    db, other = Database(uuid.uuid4().hex), Database(uuid.uuid4().hex)
    for d in (db, other):
        reference.cached(d, "loan_rules", "all", lambda: ("old",))
        reference.cached(d, "titles", "t1", lambda: {"title": "old"})
    reference.forget(db, "loan_rules")
    assert reference.cached(db, "loan_rules", "all", lambda: ("new",)) == ("new",)
    assert reference.cached(db, "titles", "t1", lambda: {"title": "new"}) == {"title": "old"}
    assert reference.cached(other, "loan_rules", "all", lambda: ("new",)) == ("old",)


def test_a_busy_kiosks_status_is_rewritten_at_most_every_few_seconds_and_within_its_heartbeat():
    from services.library.kiosks import RecentlySeen
    now = [1000.0]
    seen = RecentlySeen(every=10, clock=lambda: now[0])
    assert seen.due("K1")                       # never written by this process
    seen.wrote("K1", None)                      # heartbeat interval unknown: the default (60 s)
    now[0] += 9.9
    assert not seen.due("K1")
    now[0] += 0.1
    assert seen.due("K1")
    seen.wrote("K2", 4)                         # heartbeats every 4 s: rewritten within one
    now[0] += 3.9
    assert not seen.due("K2")
    now[0] += 0.1
    assert seen.due("K2") and seen.due("K3")
