"""Accept anywhere, handle where the rule says (全区通办): which committee handles a case.

Never route by the first six digits of the ID number (they tell where the number was
issued, not where the resident is registered now).
"""
from __future__ import annotations

from services.common.errors import BadInput


class OutsideJurisdiction(BadInput):
    """The matter cannot be handled in this district for this resident."""


def handling_district(jurisdiction: str, resident: dict, linked: frozenset[str] | set[str] = frozenset()) -> str | None:
    """The other district that handles the case, or None when this one does: a REGISTRATION
    matter of a resident registered in a district linked to this one (``LINKED_DISTRICTS``)
    is accepted here and handed on there (收受分离 across districts)."""
    if jurisdiction == "REGISTRATION" and resident.get("registered_outside_district") \
            and resident.get("registered_district") in linked and resident.get("registered_place"):
        return resident["registered_district"]
    return None


def handling_committee(jurisdiction: str, resident: dict, desk_committee: str,
                       subdistrict_of: dict[str, str | None] | None = None,
                       linked: frozenset[str] | set[str] = frozenset()) -> str:
    """The code of the place that handles the case: a committee, or for a SUBDISTRICT matter
    the sub-district of the residence committee (its centre, 社区事务受理服务中心, handles it;
    ``subdistrict_of``: {committee: its sub-district}); for a case handled in another district
    (``handling_district``), the registration committee there."""
    if handling_district(jurisdiction, resident, linked):
        return resident["registered_place"]
    if jurisdiction == "SUBDISTRICT":
        found = (subdistrict_of or {}).get(resident["residence"]["committee"])
        if not found:
            raise OutsideJurisdiction("该事项由街镇社区事务受理服务中心办理，但申请人居住地所属街镇未登记。"
                                      " (This matter is handled by the sub-district centre; the residence "
                                      "committee belongs to no known sub-district.)")
        return found
    if jurisdiction == "RESIDENCE":
        return resident["residence"]["committee"]
    if jurisdiction == "REGISTRATION":
        if resident.get("registered_outside_district") or not resident.get("registered_committee"):
            raise OutsideJurisdiction(
                "该事项须由户籍所在地办理：申请人户籍不在本区，且户籍所在区未与本区联通，本区无法受理，请到户籍所在地社区事务受理点办理。"
                " (This matter is handled where the resident is registered, which is outside this district"
                " and not linked to it.)")
        return resident["registered_committee"]
    if jurisdiction == "ACCEPTING_DESK":
        return desk_committee
    raise ValueError(f"unknown jurisdiction {jurisdiction!r}")
