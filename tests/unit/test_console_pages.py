"""How the console writes what it shows."""
from gateway.console.pages import when


def test_stored_instants_read_on_the_districts_clock():
    assert when("2026-03-02T02:15:00.123456+00:00") == "2026-03-02 10:15"
    assert when("2026-03-01T20:05:00Z") == "2026-03-02 04:05"          # the next day there
    assert when("2026-03-02T10:15:00+08:00") == "2026-03-02 10:15"
    assert when("2026-03-02") == "2026-03-02"                            # a day alone stays a day
    assert when(None) == "" and when("") == ""
