"""A small, realistic demo district: places and residents (人户分离 included).

Loading it twice adds nothing twice: places are upserted by code, residents are
registered once per ID number.
"""
from __future__ import annotations

from stdnum.cn import ric


def _id(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


PLACES = [
    {"code": "SD01", "kind": "subdistrict", "name": "龙华街道"},
    {"code": "SD02", "kind": "subdistrict", "name": "枫林街道"},
    {"code": "C0101", "kind": "committee", "name": "龙华一村居委会", "parent": "SD01"},
    {"code": "C0102", "kind": "committee", "name": "龙华二村居委会", "parent": "SD01"},
    {"code": "C0201", "kind": "committee", "name": "枫林路居委会", "parent": "SD02"},
    {"code": "C0202", "kind": "committee", "name": "东安新村居委会", "parent": "SD02"},
    {"code": "D010101", "kind": "desk", "name": "龙华一村社区事务受理点", "parent": "C0101"},
    {"code": "D010201", "kind": "desk", "name": "龙华二村社区事务受理点", "parent": "C0102"},
    {"code": "D020101", "kind": "desk", "name": "枫林路社区事务受理点", "parent": "C0201"},
    {"code": "D020201", "kind": "desk", "name": "东安新村社区事务受理点", "parent": "C0202"},
]

RESIDENTS = [
    # registered and living in the same committee
    {"id_number": _id("31010419560312402"), "name": "张伟", "phone": "13800138001",
     "registered_committee": "C0101", "residence_committee": "C0101", "address": "龙华路1号201室"},
    # registered in one committee, living in another (人户分离)
    {"id_number": _id("31010419820715123"), "name": "王芳", "phone": "13800138002",
     "registered_committee": "C0101", "residence_committee": "C0201", "address": "枫林路88弄3号502室"},
    # registered outside the district, living here
    {"id_number": _id("51010719900101234"), "name": "李娜", "phone": "13800138003",
     "registered_committee": None, "residence_committee": "C0202", "address": "东安路12号1101室"},
    {"id_number": _id("31010419451120007"), "name": "刘洋", "phone": "13800138004",
     "registered_committee": "C0102", "residence_committee": "C0102", "address": "龙华二村7号102室"},
]
