"""docs/ARCHITECTURE.md, the project's map, cannot drift from the code."""
from infra import architecture_doc


def test_the_generated_parts_are_current():
    current = architecture_doc.DOCUMENT.read_text(encoding="utf-8")
    assert architecture_doc.render(current) == current, "docs/ARCHITECTURE.md is stale: run `make docs`"


def test_every_room_says_what_it_is():
    unnamed = [str(p.relative_to(architecture_doc.ROOT)) for folder in architecture_doc.ROOMS
               for p in architecture_doc.modules(folder) if not architecture_doc._first_line(p)]
    assert unnamed == [], f"modules without a docstring: {unnamed}"


def test_every_event_is_listed_with_its_consumers():
    table = architecture_doc.events_table()
    assert "`cn.community.case.accepted.v1` | community | `community.on_case_accepted`" in table
    assert "`cn.library.kiosk.checkout.v1` | kiosk | `library.on_kiosk_event`" in table
