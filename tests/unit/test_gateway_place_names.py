"""The gateway keeps the district's place names (gateway/place_names.py)."""
from gateway.place_names import MISS_RELOAD_EVERY, PlaceNames


def test_places_are_read_once_per_ttl_and_again_soon_for_a_code_never_seen():
    now, loads = [0.0], []
    places = [{"code": "C0101", "name": "一居委", "kind": "committee"}]

    def load():
        loads.append(now[0])
        return list(places)

    kept = PlaceNames(ttl=60, clock=lambda: now[0])
    assert kept.get("C0101", load)["name"] == "一居委"
    now[0] = 30
    assert kept.get("C0101", load)["name"] == "一居委" and loads == [0.0]       # kept
    places.append({"code": "C0102", "name": "新居委", "kind": "committee"})
    assert kept.get("C0102", load)["name"] == "新居委" and loads == [0.0, 30]  # unknown: read again
    now[0] = 30 + MISS_RELOAD_EVERY / 2
    assert kept.get("X9999", load) is None and loads == [0.0, 30]             # not again so soon
    places[0] = {"code": "C0101", "name": "改名居委", "kind": "committee"}
    now[0] = 90
    assert kept.get("C0101", load)["name"] == "改名居委" and loads == [0.0, 30, 90]   # the TTL ran out
