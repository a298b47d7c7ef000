"""The places' hierarchy: a desk under a committee or a sub-district's centre, a committee
under a sub-district."""
from services.community import place_hierarchy


def test_a_desk_hangs_under_a_committee_or_a_centre_and_a_committee_under_a_sub_district():
    known = {"SD01": "subdistrict", "C0101": "committee", "D0": "desk"}
    good = [{"code": "D1", "kind": "desk", "parent": "C0101"}, {"code": "C2", "kind": "committee", "parent": "SD01"},
            {"code": "D2", "kind": "desk", "parent": "C2"},           # its committee comes in the same batch
            {"code": "D01C", "kind": "desk", "parent": "SD01"},       # the sub-district's acceptance centre
            {"code": "CX", "kind": "committee", "parent": None}, {"code": "SD9", "kind": "subdistrict", "parent": None}]
    assert place_hierarchy.problems(good, known) == []
    bad = [{"code": "D3", "kind": "desk", "parent": None}, {"code": "D4", "kind": "desk", "parent": "D0"},
           {"code": "D5", "kind": "desk", "parent": "C9999"}, {"code": "C3", "kind": "committee", "parent": "C0101"}]
    found = place_hierarchy.problems(bad, known)
    assert len(found) == 4 and "names no committee or sub-district" in found[0]
    assert "D0 is not a known committee or subdistrict" in found[1] and "C0101 is not a known subdistrict" in found[3]
