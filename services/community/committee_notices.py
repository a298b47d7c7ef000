"""Notices to committees (the console's inbox), free of I/O: which committees a move or a case
handed on concerns, and what each is told.

- a declaration (``MoveDeclaredV1``): the new residence committee, which is to confirm it;
- a move made (``ResidenceChangedV1``): the new residence committee (moved in), the old one
  (moved out) and the registration committee when it is neither (registered here, living
  elsewhere now), each once;
- a case accepted at one committee's desk and handled by another (``CaseAcceptedV1``, 收受分离):
  the handling committee; a case another district forwarded here: the registration committee.

Notices name the resident (the committees serve them) and the places, never an ID number, a
phone or an address: the lists and the case say what each side may see.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CommitteeNotice:
    committee: str
    kind: str
    title: str
    body: str


def for_declaration(data: dict, name: str, place: dict[str, str]) -> list[CommitteeNotice]:
    to = data["to_committee"]
    return [CommitteeNotice(to, "move_declared", f"居住地申报待确认：{name}",
                            f"居民{name}申报自 {data['moved_on']} 起居住在本社区（原居住地：{_name(place, data['from_committee'])}）。"
                            "请核对居住证明后在“居住地申报”中确认。")]


def for_move(data: dict, name: str, place: dict[str, str]) -> list[CommitteeNotice]:
    to, away, registered = data["to_committee"], data["from_committee"], data.get("registered_committee")
    found = [CommitteeNotice(to, "moved_in", f"迁入本社区：{name}",
                             f"居民{name}自 {data['moved_on']} 起居住在本社区（原居住地：{_name(place, away)}；"
                             f"户籍地：{_name(place, registered) if registered else '本区以外'}）。")]
    if away and away != to:
        found.append(CommitteeNotice(away, "moved_out", f"迁出本社区：{name}",
                                     f"居民{name}自 {data['moved_on']} 起居住在{_name(place, to)}。"))
    if registered and registered not in (to, away):
        found.append(CommitteeNotice(registered, "registered_here_moved", f"户籍在本社区的居民迁居：{name}",
                                     f"户籍在本社区的居民{name}自 {data['moved_on']} 起居住在{_name(place, to)}（人户分离）。"))
    return found


def for_handed_on(data: dict, case: dict, place: dict[str, str]) -> list[CommitteeNotice]:
    """A case accepted at another committee's desk for a matter this committee handles."""
    if data["handling_committee"] == data["accepting_committee"]:
        return []
    return [CommitteeNotice(data["handling_committee"], "case_handed_on",
                            f"收受分离转来的案件：{case['matter_name']}（{case['number']}）",
                            f"{_name(place, data['accepting_committee'])}受理点已受理居民{case['resident_name']}的"
                            f"“{case['matter_name']}”申请，按事项规定由本社区（户籍地）办理，请在案件队列中办理。")]


def for_forwarded(case: dict) -> list[CommitteeNotice]:
    """A case another district accepted for a resident registered at this committee (收受分离
    across districts): this committee handles it, and its steps are replied to that district."""
    return [CommitteeNotice(case["handling_committee"], "case_forwarded",
                            f"外区转来的案件：{case['matter_name']}（{case['number']}）",
                            f"{case['origin_district']} 区受理点已受理户籍在本社区的居民{case['resident_name']}的"
                            f"“{case['matter_name']}”申请（对方办件编号 {case['origin_number']}），按事项规定由户籍地办理，"
                            "请在案件队列中办理；受理、补正、办结或不予受理将自动回复对方。")]


def _name(place: dict[str, str], code: str | None) -> str:
    return place.get(code, code) if code else ""


def for_urge(case: dict, urge: dict) -> list[CommitteeNotice]:
    """A supervisor's 督办 on a case this committee (or centre) handles: answer by the day named."""
    return [CommitteeNotice(case["handling_committee"], "case_urged",
                            f"督办：{case['matter_name']}（{case['number']}）请于 {urge['reply_by']} 前答复",
                            f"督办意见：{urge['note']}\n请在案件页填写办理情况答复督办（答复期限 {urge['reply_by']}）。")]
