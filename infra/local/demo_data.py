"""The demo district, Pudong New Area (浦东新区): places and residents (人户分离 both ways included).

Loading it twice adds nothing twice: places are upserted by code, residents are
registered once per ID number.
"""
from __future__ import annotations

from datetime import date, timedelta

from stdnum.cn import ric


def _id(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


# The demo district is Pudong New Area (浦东新区, GB/T 2260 code 310115): two 街道 and two 镇, with
# residents' committees (居委) and villagers' committees (村委), which are places alike. The codes
# are the suite's own; the names are Pudong's.
DISTRICT = {"code": "310115", "name": "浦东新区"}

# Committees and their desks share an office: its address and position are public facts (Open311
# shows them as where a request is handled; a resident's own address never leaves the registry).
_OFFICES = {
    "SD01": {"address": "浦东南路2008号", "zipcode": "200122", "lat": 31.2262, "long": 121.5141},
    "C0101": {"address": "崂山路620号", "zipcode": "200120", "lat": 31.2316, "long": 121.5208},
    "C0102": {"address": "东昌路99号", "zipcode": "200120", "lat": 31.2367, "long": 121.5105},
    "SD02": {"address": "梅花路1000号", "zipcode": "200135", "lat": 31.2158, "long": 121.5490},
    "C0201": {"address": "长柳路100号", "zipcode": "200135", "lat": 31.2236, "long": 121.5532},
    "C0202": {"address": "牡丹路60号", "zipcode": "200135", "lat": 31.2127, "long": 121.5511},
    "C0301": {"address": "龙东大道3000号", "zipcode": "201203", "lat": 31.2045, "long": 121.6043},
    "C0302": {"address": "祖冲之路1559号", "zipcode": "201203", "lat": 31.2108, "long": 121.5916},
    "C0401": {"address": "川沙路5558号", "zipcode": "201299", "lat": 31.1903, "long": 121.6952},
}

PLACES = [
    {"code": "SD01", "kind": "subdistrict", "name": "陆家嘴街道"},
    {"code": "SD02", "kind": "subdistrict", "name": "花木街道"},
    {"code": "SD03", "kind": "subdistrict", "name": "张江镇"},
    {"code": "SD04", "kind": "subdistrict", "name": "川沙新镇"},
    {"code": "C0101", "kind": "committee", "name": "梅园一村居委会", "parent": "SD01", **_OFFICES["C0101"]},
    {"code": "C0102", "kind": "committee", "name": "东昌新村居委会", "parent": "SD01", **_OFFICES["C0102"]},
    {"code": "C0201", "kind": "committee", "name": "联洋第一居委会", "parent": "SD02", **_OFFICES["C0201"]},
    {"code": "C0202", "kind": "committee", "name": "牡丹第二居委会", "parent": "SD02", **_OFFICES["C0202"]},
    {"code": "C0301", "kind": "committee", "name": "新丰村村委会", "parent": "SD03", **_OFFICES["C0301"]},
    {"code": "C0302", "kind": "committee", "name": "孙桥社区居委会", "parent": "SD03", **_OFFICES["C0302"]},
    {"code": "C0401", "kind": "committee", "name": "界龙村村委会", "parent": "SD04", **_OFFICES["C0401"]},
    # a sub-district's acceptance centre has a desk of its own, where its clerks take cases
    {"code": "D01C", "kind": "desk", "name": "陆家嘴街道社区事务受理服务中心", "parent": "SD01", **_OFFICES["SD01"]},
    {"code": "D02C", "kind": "desk", "name": "花木街道社区事务受理服务中心", "parent": "SD02", **_OFFICES["SD02"]},
    {"code": "D010101", "kind": "desk", "name": "梅园一村社区事务受理点", "parent": "C0101", **_OFFICES["C0101"]},
    {"code": "D010201", "kind": "desk", "name": "东昌新村社区事务受理点", "parent": "C0102", **_OFFICES["C0102"]},
    {"code": "D020101", "kind": "desk", "name": "联洋第一社区事务受理点", "parent": "C0201", **_OFFICES["C0201"]},
    {"code": "D020201", "kind": "desk", "name": "牡丹第二社区事务受理点", "parent": "C0202", **_OFFICES["C0202"]},
    {"code": "D030101", "kind": "desk", "name": "新丰村村民事务代理点", "parent": "C0301", **_OFFICES["C0301"]},
    {"code": "D030201", "kind": "desk", "name": "孙桥社区事务受理点", "parent": "C0302", **_OFFICES["C0302"]},
    {"code": "D040101", "kind": "desk", "name": "界龙村村民事务代理点", "parent": "C0401", **_OFFICES["C0401"]},
]

# An ID number keeps the region where it was first issued: residents born before 浦东新区 existed
# (1992) carry another district's code, which GB/T 2260's validity years let the check accept.
RESIDENTS = [
    # registered and living in the same committee
    {"id_number": _id("31011019560312402"), "name": "张伟", "phone": "13800138001",
     "registered_committee": "C0101", "residence_committee": "C0101", "address": "崂山路571弄2号201室"},
    # 人户分离 both ways between two 街道: registered in 梅园一村, living in 联洋 ...
    {"id_number": _id("31010119820715123"), "name": "王芳", "phone": "13800138002",
     "registered_committee": "C0101", "residence_committee": "C0201", "address": "长柳路58弄3号502室"},
    # ... and registered in 联洋, living in 梅园一村
    {"id_number": _id("31010919760923518"), "name": "陈建国", "phone": "13800138005",
     "registered_committee": "C0201", "residence_committee": "C0101", "address": "浦东南路1101弄5号303室"},
    # registered in another district (徐汇区, 310104: its matters handled there once the two districts
    # are linked, LINKED_DISTRICTS), living here; her ID number was issued in 成都
    {"id_number": _id("51010719900101234"), "name": "李娜", "phone": "13800138003",
     "registered_committee": None, "registered_district": "310104", "registered_place": "XH-LH-01",
     "residence_committee": "C0202", "address": "牡丹路12号1101室"},
    {"id_number": _id("31010419451120007"), "name": "刘洋", "phone": "13800138004",
     "registered_committee": "C0102", "residence_committee": "C0102", "address": "东昌新村7号102室"},
    # villagers: one at home in 新丰村, one registered in 界龙村 (川沙新镇) living in 新丰村 (张江镇)
    {"id_number": _id("31010119520406224"), "name": "赵桂英", "phone": "13800138006",
     "registered_committee": "C0301", "residence_committee": "C0301", "address": "新丰村五组18号"},
    {"id_number": _id("31011519930214331"), "name": "孙强", "phone": "13800138007",
     "registered_committee": "C0401", "residence_committee": "C0301", "address": "新丰村三组7号"},
]

LOCATIONS = [
    {"code": "MAIN", "kind": "library", "name": "浦东图书馆", "committee": "C0201", "closed_weekdays": [0]},
    {"code": "B-LH", "kind": "branch", "name": "陆家嘴社区分馆", "committee": "C0102", "closed_weekdays": [0, 1]},
    {"code": "B-FL", "kind": "branch", "name": "花木社区分馆", "committee": "C0202", "closed_weekdays": [0]},
    {"code": "K-001", "kind": "kiosk", "name": "崂山路24小时自助图书馆", "committee": "C0101", "hold_shelf": False},
    {"code": "K-002", "kind": "kiosk", "name": "牡丹路24小时自助图书馆", "committee": "C0202", "hold_shelf": False},
    {"code": "K-003", "kind": "kiosk", "name": "张江镇24小时自助图书馆", "committee": "C0301", "hold_shelf": False},
]

TITLES = [
    {"record_id": "demo-0001", "isbn": "9787020002207", "title": "红楼梦", "authors": ["曹雪芹", "高鹗"],
     "subjects": ["古典小说", "中国文学"], "copies": [{"barcode": "C0000001", "home_location": "MAIN"},
                                               {"barcode": "C0000002", "home_location": "B-FL"}]},
    {"record_id": "demo-0002", "isbn": "9787544253994", "title": "活着", "authors": ["余华"],
     "subjects": ["当代小说"], "copies": [{"barcode": "C0000003", "home_location": "K-001"}]},
    {"record_id": "demo-0003", "isbn": "9787536692930", "title": "三体", "authors": ["刘慈欣"],
     "subjects": ["科幻小说"], "copies": [{"barcode": "C0000004", "home_location": "MAIN"},
                                       {"barcode": "C0000005", "home_location": "K-002"}]},
    {"record_id": "demo-0004", "isbn": "9787115428028", "title": "Python编程：从入门到实践",
     "authors": ["Eric Matthes"], "subjects": ["程序设计", "Python"],
     "copies": [{"barcode": "C0000006", "home_location": "B-LH"}]},
    {"record_id": "demo-0005", "title": "老年人健康生活手册", "authors": ["上海市老年学学会"],
     "subjects": ["老年保健"], "copies": [{"barcode": "C0000007", "home_location": "B-LH"}]},
]

# login, name, committee, password: a development account, printed by `suite up`; a clerk of
# the committee where the first demo resident (张伟) lives, so the demo follows one case from
# the resident to the clerk and back
DEMO_CLERK = ("clerk-lh", "李静", "C0101", "demo-clerk-2026")
# login, name, password: a librarian of the whole library network (conflicts, kiosks' health)
DEMO_LIBRARIAN = ("librarian-1", "王书华", "demo-librarian-2026")
# login, name, password: a supervisor (电子监察) of the whole district: red and yellow cases, 督办
DEMO_SUPERVISOR = ("supervisor-1", "周监察", "demo-supervisor-2026")
# login, name, password: an editor of the library network: reviews what popular-science providers
# upload, publishes it, places videos in the TV guide
DEMO_EDITOR = ("editor-1", "陈编辑", "demo-editor-2026")
# login, name, sub-district, password: a clerk of 陆家嘴街道's acceptance centre (社区事务受理服务中心):
# the matters handled by the sub-district, and every case of its committees
DEMO_CENTRE_CLERK = ("centre-ljz", "吴敏", "SD01", "demo-centre-2026")
# login, location, password of a SIP2 self-check machine, and the first demo resident's card PIN:
# local demo only, printed by `suite up`
DEMO_SIP2_LOGIN, DEMO_SIP2_LOCATION, DEMO_SIP2_PASSWORD = "sc-main", "MAIN", "sip2-demo"
DEMO_PIN = "2468"


def courses(today: date) -> list[dict]:
    """The demo courses, their TV lessons broadcast today and tomorrow (the district's day):
    a guide asked for on the day the demo is set up shows them."""
    tomorrow = today + timedelta(days=1)
    return [
        {"course_id": "DEMO-SMARTPHONE", "title": "智能手机入门（老年班）", "provider": "区社区学院", "subjects": ["数字生活"],
         "credits": 2, "units": [{"title": "第一单元 基本操作", "lessons": [
             {"id": "l1", "title": "开机、解锁与设置字体", "renditions": {
                 "tv": {"channel": "区有线4频道", "starts_at": f"{today.isoformat()}T19:00", "minutes": 30},
                 "web": {"url": "https://learn.example/smartphone/l1", "minutes": 30}}},
             {"id": "l2", "title": "微信视频通话", "renditions": {
                 "mobile": {"url": "https://learn.example/smartphone/l2", "minutes": 25}}}]}]},
        {"course_id": "DEMO-FIRSTAID", "title": "社区急救常识", "provider": "区红十字会", "subjects": ["健康", "安全"],
         "credits": 1, "units": [{"title": "心肺复苏", "lessons": [
             {"id": "cpr", "title": "心肺复苏与AED使用", "renditions": {
                 "tv": {"channel": "区有线4频道", "starts_at": f"{tomorrow.isoformat()}T19:30", "minutes": 45},
                 "web": {"url": "https://learn.example/firstaid/cpr", "minutes": 45}}}]}]},
    ]
