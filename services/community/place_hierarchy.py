"""The district's places as a hierarchy, free of I/O: sub-district (街镇) → committee
(居委会/村委会) → service desk (受理点). A desk hangs under a committee, whose queue its
cases join, or under a sub-district: the desk of its acceptance centre (社区事务受理服务中心),
whose clerks take its cases; a committee, when it names a parent, under a sub-district."""
from __future__ import annotations

PARENT_KINDS = {"desk": ("committee", "subdistrict"), "committee": ("subdistrict",)}


def problems(places: list[dict], kind_of: dict[str, str]) -> list[str]:
    """What is wrong with the parents of ``places`` ({code, kind, parent}), given the kinds of
    the places already known (``kind_of``: code -> kind; the batch's own take precedence)."""
    kinds = {**kind_of, **{p["code"]: p["kind"] for p in places}}
    found = []
    for p in places:
        wanted = PARENT_KINDS.get(p["kind"])
        if wanted is None or (p["kind"] == "committee" and not p.get("parent")):
            continue
        if not p.get("parent"):
            found.append(f"desk {p['code']} names no committee or sub-district: its cases would join no queue")
        elif kinds.get(p["parent"]) not in wanted:
            found.append(f"{p['kind']} {p['code']}: its parent {p['parent']} is not a known {' or '.join(wanted)}")
    return found
