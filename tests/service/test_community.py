"""The community service with the real store and broker: residents, cases, notices."""
import json
import uuid

import eventlet
import pytest
from kombu import Connection
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy

from infra.imports import community as community_import
from infra.local import demo_data
from services.common import clock
from services.common.storage import due_key
from services.community import catalogue
from services.community.service import CommunityService
from support import id_number, load_demo_district, wait_for

TODAY = clock.today().isoformat()   # the district's date, as the service dates a move
CLERK_LONGHUA = {"id": "clerk-1", "role": "staff", "committee": "C0101"}
CLERK_FENGLIN = {"id": "clerk-2", "role": "staff", "committee": "C0201"}
CLERK_DONGAN = {"id": "clerk-3", "role": "staff", "committee": "C0202"}


@pytest.fixture
def community(start_service, rpc):
    start_service(CommunityService)
    load_demo_district(rpc)
    return rpc.community


def resident(community, registered="C0101", residence="C0201", **kw):
    return community.register_resident({
        "id_number": id_number(), "name": kw.get("name", "王芳"), "phone": "13900139000",
        "registered_committee": registered, "residence_committee": residence, "address": "枫林路88弄3号"})


def me(r):
    return {"id": r["resident_id"], "role": "resident"}


def error_of(call):
    with pytest.raises(RemoteError) as err:
        call()
    return err.value


def test_accept_anywhere_handle_where_they_live(community):
    r = resident(community)  # registered in 龙华一村, living in 枫林路
    case = community.submit_case(CLERK_LONGHUA, {"resident_id": r["resident_id"],
                                                 "matter_code": "ELDERLY_ALLOWANCE"})
    assert case["accepting_desk"] == "D010101" and case["accepting_committee"] == "C0101"
    assert case["handling_committee"] == "C0201" and case["status"] == "submitted"
    # both committees see it; a third does not, nor another resident
    assert community.get_case(CLERK_FENGLIN, case["case_id"])["number"] == case["number"]
    assert community.get_case(CLERK_LONGHUA, case["case_id"])
    assert error_of(lambda: community.get_case(CLERK_DONGAN, case["case_id"])).exc_type == "NotFound"
    assert error_of(lambda: community.get_case({"id": "someone", "role": "resident"},
                                               case["case_id"])).exc_type == "NotFound"
    assert community.get_case(me(r), case["case_id"])["status_name"] == "已提交"


def test_registration_matter_for_someone_registered_elsewhere_is_refused_and_nothing_stored(community, db):
    outsider = resident(community, registered=None, residence="C0202")
    before = db("community").cases.find_one({"resident_id": outsider["resident_id"]})
    err = error_of(lambda: community.submit_case(me(outsider), {"resident_id": outsider["resident_id"],
                                                                "matter_code": "HOUSEHOLD_CERTIFICATE"}))
    assert err.exc_type == "BadInput" and "户籍" in err.value
    assert before is None and db("community").cases.find_one({"resident_id": outsider["resident_id"]}) is None


def test_case_life_produces_notices_once_each(community, db):
    r = resident(community)
    case = community.submit_case(me(r), {"resident_id": r["resident_id"], "matter_code": "ELDERLY_ALLOWANCE"})
    assert case["accepting_desk"] == "D020101"  # by default the desk of their residence
    cid = case["case_id"]
    accepted = community.act_on_case(CLERK_FENGLIN, {"case_id": cid, "action": "accept"})
    assert accepted["deadline"] or accepted["deadline_problem"]
    community.act_on_case(CLERK_FENGLIN, {"case_id": cid, "action": "request_supplement",
                                          "missing_materials": ["银行卡"]})
    community.act_on_case(me(r), {"case_id": cid, "action": "supplement", "materials": ["银行卡"]})
    done = community.act_on_case(CLERK_FENGLIN, {"case_id": cid, "action": "complete", "note": "已核发"})
    assert [e["action"] for e in done["trail"]] == ["submit", "accept", "request_supplement", "supplement",
                                                    "complete"]
    notices = wait_for(lambda: (lambda n: n if len(n) == 3 else None)(
        community.get_notices(me(r), r["resident_id"])))
    assert sorted(n["kind"] for n in notices) == ["completion", "receipt", "supplement"]
    assert all("高龄老人营养补贴申领" in n["body"] + n["title"] for n in notices)
    eventlet.sleep(0.3)
    assert len(community.get_notices(me(r), r["resident_id"])) == 3
    assert error_of(lambda: community.get_notices({"id": "x", "role": "resident"}, r["resident_id"])
                    ).exc_type == "Forbidden"


def test_resident_overview_answers_each_part_asked_as_its_own_rpc_does(community):
    r = resident(community)
    rid = r["resident_id"]
    case = community.submit_case(me(r), {"resident_id": rid, "matter_code": "ELDERLY_ALLOWANCE"})
    community.act_on_case(CLERK_FENGLIN, {"case_id": case["case_id"], "action": "accept"})
    community.get_case(CLERK_FENGLIN, case["case_id"])                    # in the resident's access log
    wait_for(lambda: community.get_notices(me(r), rid))                   # the receipt
    everything = {"profile": {}, "cases": {}, "notices": {"limit": 5}, "access_log": {"limit": 5}}
    assert community.resident_overview(me(r), rid, everything) == {
        "profile": community.get_residents([rid])[0],
        "cases": community.get_cases_for_residents(me(r), [rid])[rid],
        "notices": community.get_notices(me(r), rid, 5),
        "access_log": community.get_access_log(me(r), rid, 5)}
    assert community.resident_overview(me(r), rid, {"notices": {}})["notices"][0]["kind"] == "receipt"


def test_a_part_of_the_overview_that_fails_its_check_fails_alone(community):
    r = resident(community)
    rid = r["resident_id"]
    community.submit_case(me(r), {"resident_id": rid, "matter_code": "ELDERLY_ALLOWANCE"})
    other = {"id": "someone-else", "role": "resident"}
    seen = community.resident_overview(other, rid, {"profile": {}, "cases": {}, "notices": {}, "access_log": {}})
    assert seen["profile"]["name"] == "王芳" and seen["cases"] == []     # as get_residents, get_cases_for_residents
    assert set(seen["errors"]) == {"notices", "access_log"} and "notices" not in seen
    for part, alone in (("notices", community.get_notices), ("access_log", community.get_access_log)):
        error = error_of(lambda: alone(other, rid))
        assert (seen["errors"][part]["exc_type"], seen["errors"][part]["value"]) == ("Forbidden", error.value)
    # a part not asked is not computed: no Forbidden for notices nobody asked for
    assert community.resident_overview(other, rid, {"profile": {}}) == {"profile": seen["profile"]}
    missing = community.resident_overview(other, "no-such-resident", {"profile": {}, "cases": {}})
    assert missing["cases"] == [] and missing["errors"]["profile"]["exc_type"] == "NotFound"


def test_a_bad_overview_request_is_refused_clearly(community):
    r = resident(community)
    rid = r["resident_id"]
    unknown = error_of(lambda: community.resident_overview(me(r), rid, {"profile": {}, "loans": {}}))
    assert unknown.exc_type == "BadInput"
    assert unknown.value == "unknown part 'loans'; the parts are profile, cases, notices, access_log"
    for actor, parts in ((me(r), {"notices": {"limit": 1000}}), (me(r), {"profile": {"limit": 5}}),
                         (me(r), ["profile"]), ({"id": rid, "role": "mayor"}, {"profile": {}})):
        assert error_of(lambda: community.resident_overview(actor, rid, parts)).exc_type == "BadInput"
    assert error_of(lambda: community.resident_overview(me(r), None, {"profile": {}})).exc_type == "BadInput"


def test_two_clerks_at_once_exactly_one_wins(community, db, settings):
    """Six clerks' actions on the same version of a case at once: one applies, the rest
    get a conflict, and nothing is half-applied."""
    r = resident(community)
    case = community.submit_case(CLERK_FENGLIN, {"resident_id": r["resident_id"], "matter_code": "RESIDENCE_PERMIT"})
    cid = case["case_id"]
    community.act_on_case(CLERK_FENGLIN, {"case_id": cid, "action": "accept"})

    def act(action):
        extra = {"reason": "材料不实"} if action == "reject" else {}
        try:
            with ClusterRpcProxy({"AMQP_URI": settings.amqp_uri}, timeout=10) as proxy:
                return proxy.community.act_on_case(CLERK_FENGLIN, {"case_id": cid, "action": action, **extra})
        except RemoteError as exc:
            return exc.exc_type

    outcomes = list(eventlet.GreenPool(6).imap(act, ["complete", "reject"] * 3))
    winners = [o for o in outcomes if isinstance(o, dict)]
    assert len(winners) == 1, outcomes
    assert {o for o in outcomes if not isinstance(o, dict)} <= {"Conflict"}
    stored = db("community").cases.find_one({"_id": cid})
    assert stored["version"] == 3 and stored["status"] == winners[0]["status"]
    assert [e["action"] for e in stored["trail"]] == ["submit", "accept", winners[0]["trail"][-1]["action"]]
    stale = error_of(lambda: community.act_on_case(CLERK_FENGLIN, {"case_id": cid, "action": "complete",
                                                                   "expected_version": 2}))
    assert stale.exc_type == "Conflict"


def test_staff_queue_in_deadline_order_with_cursor_and_filters(community):
    committee = "C0202"
    ids = []
    for matter in ["COMMUNITY_VENUE", "RESIDENCE_REGISTRATION", "MINIMUM_LIVING"]:
        r = resident(community, residence=committee)
        c = community.submit_case(CLERK_DONGAN, {"resident_id": r["resident_id"], "matter_code": matter})
        community.act_on_case(CLERK_DONGAN, {"case_id": c["case_id"], "action": "accept"})
        ids.append(c["case_id"])
    waiting = community.submit_case(CLERK_DONGAN, {"resident_id": resident(community, residence=committee)["resident_id"],
                                                   "matter_code": "RESIDENCE_PERMIT"})
    seen, cursor = [], None
    while True:
        page = community.staff_queue(CLERK_DONGAN, after=cursor, limit=2)
        seen += page["cases"]
        cursor = page["next"]
        if cursor is None:
            break
    mine = [c for c in seen if c["case_id"] in ids + [waiting["case_id"]]]
    assert mine[0]["case_id"] == waiting["case_id"]  # waiting for acceptance comes first
    deadlines = [c["deadline"] or "9999" for c in mine[1:]]
    assert deadlines == sorted(deadlines)
    assert len(seen) == len({c["case_id"] for c in seen})  # no case twice across pages
    only = community.staff_queue(CLERK_DONGAN, matter_code="MINIMUM_LIVING")["cases"]
    assert {c["matter_code"] for c in only} == {"MINIMUM_LIVING"}
    assert error_of(lambda: community.staff_queue(CLERK_DONGAN, committee="C0101")).exc_type == "Forbidden"
    assert error_of(lambda: community.staff_queue({"id": "r", "role": "resident"})).exc_type == "Forbidden"
    admin = {"id": "ops", "role": "admin"}
    assert {c["case_id"] for c in community.staff_queue(admin, committee=committee, limit=50)["cases"]} >= set(ids)
    # no committee of its own; unknown; a desk (a sub-district's queue is its centre's)
    for missing in (None, "C9999", "D010101"):
        assert error_of(lambda: community.staff_queue(admin, committee=missing)).exc_type == "BadInput"
    assert error_of(lambda: community.staff_queue(CLERK_DONGAN, limit="20")).exc_type == "BadInput"


@pytest.mark.parametrize("request_patch", [
    {"matter_code": {"$ne": None}},
    {"resident_id": {"$gt": ""}},
    {"note": "长" * 5000},
    {"desk": {"$ne": None}},
    {"materials": [{"$where": "1"}]},
])
def test_bad_input_is_refused_and_stores_nothing(community, db, request_patch):
    r = resident(community)
    request = {"resident_id": r["resident_id"], "matter_code": "ELDERLY_ALLOWANCE", **request_patch}
    err = error_of(lambda: community.submit_case(CLERK_FENGLIN, request))
    assert err.exc_type == "BadInput"
    assert db("community").cases.find_one({"resident_id": r["resident_id"]}) is None


@pytest.mark.parametrize("name, address", [("王\x00芳", "龙华路1号"), ("王芳😀", "龙华路1号"), ("王芳\u202e", "龙华路1号"),
                                           ("王芳", "龙华路\x001号"), ("王芳", "龙华路1号\u200b")])
def test_a_name_or_address_no_person_writes_is_refused_and_stores_nothing(community, db, name, address):
    number = id_number()
    err = error_of(lambda: community.register_resident({
        "id_number": number, "name": name, "residence_committee": "C0101", "address": address}))
    assert err.exc_type == "BadInput" and ("name" in err.value or "address" in err.value)
    assert db("community").residents.find_one({"id_number": number}) is None


def test_import_residents_reports_each_rejected_row_and_writes_nothing_of_it(community, db, tmp_path, rpc):
    good = [id_number() for _ in range(3)]
    lines = ["id_number,name,phone,registered_committee,residence_committee,address",
             f"{good[0]},甲,13800000001,C0101,C0101,龙华路1号",
             f"{good[1]},乙,,,C0202,东安路2号",                       # registered outside the district
             "310101198001010000,丙,13800000003,C0101,C0101,坏校验码",
             f"{good[2]},丁,13800000004,C0101,NOPE,未知居委",
             f"{good[0]},甲,13800000001,C0101,C0101,重复一行",
             "too,few,fields"]
    path = tmp_path / "residents.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    imported, rejected = community_import.import_residents(rpc, path)
    assert imported == 2
    reasons = dict(rejected)
    assert set(reasons) == {4, 5, 6, 7}
    assert "ID number" in reasons[4] and "NOPE" in reasons[5] and "already registered" in reasons[6]
    assert "fields" in reasons[7]
    assert db("community").residents.find_one({"id_number": good[2]}) is None
    outsider = community.find_resident(good[1])
    assert outsider["registered_outside_district"] is True


def test_move_of_residence_keeps_history_and_publishes(community, db):
    r = resident(community, residence="C0101")
    moved = community.change_residence(CLERK_FENGLIN, {"resident_id": r["resident_id"], "residence_committee": "C0201",
                                                       "address": "枫林路1号", "moved_on": TODAY})
    assert moved["residence_committee"] == "C0201"
    doc = db("community").residents.find_one({"_id": r["resident_id"]})
    assert doc["residence_history"][-1]["committee"] == "C0101" and doc["residence_history"][-1]["until"] == TODAY
    wait_for(lambda: db("community").residents.find_one({"_id": r["resident_id"]})["outbox_pending"] == 0)
    assert error_of(lambda: community.change_residence(me(r), {
        "resident_id": r["resident_id"], "residence_committee": "C0202", "address": "x",
        "moved_on": TODAY})).exc_type == "Forbidden"
    assert error_of(lambda: community.change_residence(CLERK_FENGLIN, {
        "resident_id": r["resident_id"], "residence_committee": "C0202", "address": "x",
        "moved_on": "2000-01-01"})).exc_type == "BadInput"  # before the current residence began
    # a mistyped year ahead would refuse every true move after it
    assert error_of(lambda: community.change_residence(CLERK_FENGLIN, {
        "resident_id": r["resident_id"], "residence_committee": "C0202", "address": "x",
        "moved_on": "2062-01-01"})).exc_type == "BadInput"
    assert db("community").residents.find_one({"_id": r["resident_id"]})["residence"]["committee"] == "C0201"


def test_deadline_timer_raises_due_soon_once(community, db):
    r = resident(community)
    case = community.submit_case(CLERK_FENGLIN, {"resident_id": r["resident_id"],
                                                 "matter_code": "RESIDENCE_REGISTRATION"})
    cid = case["case_id"]
    community.act_on_case(CLERK_FENGLIN, {"case_id": cid, "action": "accept"})
    # pretend it was accepted on 30 Sep 2026: five working days run to 13 Oct
    db("community").cases.update_one({"_id": cid}, {"$set": {"deadline": "2026-10-13", "watch": due_key("2026-10-13")}})
    assert community.check_deadlines_now("2026-10-12") >= 1
    assert db("community").cases.find_one({"_id": cid})["deadline_flag"] == "due_soon"
    community.check_deadlines_now("2026-10-12")
    assert db("community").cases.find_one({"_id": cid})["version"] == 3  # raised once
    community.check_deadlines_now("2026-10-14")
    stored = db("community").cases.find_one({"_id": cid})
    assert stored["deadline_flag"] == "overdue" and "watch" not in stored
    for not_a_day in ("2026/10/14", "2026-10", 20261014):   # were a bare ValueError or TypeError
        assert error_of(lambda: community.check_deadlines_now(not_a_day)).exc_type == "BadInput"


def test_kiosk_fault_opens_one_maintenance_case(community, db, settings):
    kiosk_id = f"K-{uuid.uuid4().hex[:6]}"   # this test's own: exactly its cases are counted
    envelope = {"specversion": "1.0", "id": uuid.uuid4().hex, "source": "library",
                "type": "cn.library.kiosk.fault.v1", "time": "2026-11-25T08:00:00Z",
                "data": {"kiosk_id": kiosk_id, "kiosk_name": "枫林路24小时图书馆", "committee": "C0201",
                         "fault_code": "PRINTER_JAM", "description": "凭条打印机卡纸",
                         "reported_at": "2026-11-25T07:59:00Z"}}
    with Connection(settings.amqp_uri) as conn:
        for _ in range(2):
            conn.Producer().publish(json.dumps(envelope), exchange="library.events",
                                    routing_key=envelope["type"], content_type="application/json")
    case = wait_for(lambda: db("community").cases.find_one({"_id": f"kf-{envelope['id']}"}))
    assert case["status"] == "accepted" and case["handling_committee"] == "C0201"
    assert case["matter_code"] == "KIOSK_FAULT"
    eventlet.sleep(0.5)
    assert len(list(db("community").cases.find({"resident_id": f"kiosk:{kiosk_id}"}))) == 1   # sent twice, one case
    assert db("community").cases.find_one({"_id": f"kf-{envelope['id']}"})["version"] == case["version"]


def test_staff_edited_template_is_sandboxed(community, db):
    hostile = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    err = error_of(lambda: community.set_notice_template(CLERK_FENGLIN, "DISABILITY_SUBSIDY", "receipt", hostile))
    assert err.exc_type == "BadInput" and "template refused" in err.value
    assert "receipt" not in community.list_matters()[0]["templates"]
    for not_text in ({"body": "x"}, ["x"], 42):   # stored, it broke every later notice of the matter
        err = error_of(lambda: community.set_notice_template(CLERK_FENGLIN, "DISABILITY_SUBSIDY", "receipt", not_text))
        assert err.exc_type == "BadInput"
    assert "receipt" not in community.list_matters()[0]["templates"]
    mine = "受理回执\n{{ resident_name }}：您的{{ matter_name }}申请已受理，编号{{ case_number }}。"
    community.set_notice_template(CLERK_FENGLIN, "DISABILITY_SUBSIDY", "receipt", mine)
    r = resident(community)
    case = community.submit_case(me(r), {"resident_id": r["resident_id"], "matter_code": "DISABILITY_SUBSIDY"})
    community.act_on_case(CLERK_FENGLIN, {"case_id": case["case_id"], "action": "accept"})
    [notice] = wait_for(lambda: community.get_notices(me(r), r["resident_id"]))
    assert notice["title"] == "受理回执" and case["number"] in notice["body"]
    community.set_notice_template(CLERK_FENGLIN, "DISABILITY_SUBSIDY", "receipt", None)


def test_library_overdue_and_hold_ready_become_notices_once(community, settings):
    r = resident(community, name="孙丽")
    facts = [
        ("cn.library.loan.overdue.v1", {"loan_id": "l1", "barcode": "C1", "title_id": "t1", "title": "三体",
                                        "patron": r["resident_id"], "location": "MAIN", "at": "2026-11-25T08:00:00Z",
                                        "due": "2026-11-20", "source": "timer"}),
        ("cn.library.hold.ready.v1", {"hold_id": "h1", "title_id": "t2", "title": "活着", "patron": r["resident_id"],
                                      "pickup": "B-FL", "at": "2026-11-25T08:00:00Z", "expires": "2026-12-02"}),
        ("cn.library.hold.ready.v1", {"hold_id": "h2", "title_id": "d1", "title": "流浪地球", "patron": r["resident_id"],
                                      "pickup": "online", "at": "2026-11-25T08:00:00Z", "expires": "2026-12-09",
                                      "barcode": "d1#1", "digital": True}),
    ]
    with Connection(settings.amqp_uri) as conn:
        for event_type, data in facts:
            envelope = {"specversion": "1.0", "id": uuid.uuid4().hex, "source": "library", "type": event_type,
                        "time": "2026-11-25T08:00:00Z", "data": data}
            for _ in range(2):  # delivered twice
                conn.Producer().publish(json.dumps(envelope), exchange="library.events", routing_key=event_type,
                                        content_type="application/json")
    notices = wait_for(lambda: (lambda n: n if len(n) >= 3 else None)(community.get_notices(me(r), r["resident_id"])))
    eventlet.sleep(0.3)
    notices = community.get_notices(me(r), r["resident_id"])
    assert sorted(n["kind"] for n in notices) == ["digital_hold_ready", "hold_ready", "loan_overdue"]
    ready = next(n for n in notices if n["kind"] == "hold_ready")
    assert "孙丽" in ready["body"] and "活着" in ready["body"] and "2026-12-02" in ready["body"]
    lent = next(n for n in notices if n["kind"] == "digital_hold_ready")   # a digital copy: read it, nothing to fetch
    assert "流浪地球" in lent["body"] and "2026-12-09" in lent["body"] and "到期自动归还" in lent["body"]
    assert "取书" not in lent["body"]


def test_cases_are_assigned_only_to_active_clerks_of_the_handling_committee(community):
    from services.community import staff

    login = "clerk-" + uuid.uuid4().hex[:6]
    community.staff_add(login, "周敏", "C0201", staff.hash_password("a-long-password-1"))
    elsewhere = "clerk-" + uuid.uuid4().hex[:6]
    community.staff_add(elsewhere, "吴刚", "C0202", staff.hash_password("a-long-password-2"))
    r = resident(community)
    case = community.submit_case(CLERK_FENGLIN, {"resident_id": r["resident_id"], "matter_code": "RESIDENCE_PERMIT"})
    community.act_on_case(CLERK_FENGLIN, {"case_id": case["case_id"], "action": "accept"})
    for who in ("nobody-" + login, elsewhere):
        err = error_of(lambda: community.act_on_case(CLERK_FENGLIN, {"case_id": case["case_id"], "action": "assign",
                                                                     "assignee": who}))
        assert err.exc_type == "BadInput"
    done = community.act_on_case(CLERK_FENGLIN, {"case_id": case["case_id"], "action": "assign", "assignee": login})
    assert done["assignee"] == login
    assert login in [p["login"] for p in community.staff_list("C0201")]
    # a committee that does not exist is said so, not listed as one without clerks
    for junk in ("C9999", "", ["C0201"]):   # (None lists the librarians)
        assert error_of(lambda: community.staff_list(junk)).exc_type == "NotFound"


def test_librarians_are_staff_of_the_whole_library_network_and_of_no_committee(community):
    from services.community import staff

    login = "lib-" + uuid.uuid4().hex[:6]
    hashed = staff.hash_password("a-long-password-3")
    for committee, role in (("C0201", "librarian"), (None, "staff"), ("", "staff"), (None, "admin"),
                            (None, "Librarian")):
        err = error_of(lambda: community.staff_add(login, "王书华", committee, hashed, role))
        assert err.exc_type == "BadInput", (committee, role)
    added = community.staff_add(login, "王书华", None, hashed, "librarian")
    assert (added["role"], added["committee"]) == ("librarian", None)
    assert community.staff_verify(login, "a-long-password-3")["role"] == "librarian"
    session = community.staff_session_get(community.staff_session_open(login))
    assert (session["role"], session["committee"]) == ("librarian", None)
    clerk = "clerk-" + uuid.uuid4().hex[:6]
    assert community.staff_add(clerk, "周敏", "C0201", staff.hash_password("a-long-password-1"))["role"] == "staff"
    assert login not in [p["login"] for p in community.staff_list("C0201")]
    assert login in [p["login"] for p in community.staff_list(None)] and clerk not in [
        p["login"] for p in community.staff_list(None)]
    # a case is never assigned to a librarian: they are nobody's clerk
    r = resident(community)
    case = community.submit_case(CLERK_FENGLIN, {"resident_id": r["resident_id"], "matter_code": "RESIDENCE_PERMIT"})
    community.act_on_case(CLERK_FENGLIN, {"case_id": case["case_id"], "action": "accept"})
    err = error_of(lambda: community.act_on_case(CLERK_FENGLIN, {"case_id": case["case_id"], "action": "assign",
                                                                 "assignee": login}))
    assert err.exc_type == "BadInput"
    # nor may a librarian act as one: the community knows no such actor
    librarian = {"id": login, "role": "librarian", "committee": "C0201"}
    assert error_of(lambda: community.get_case(librarian, case["case_id"])).exc_type == "BadInput"
    assert community.get_case(CLERK_FENGLIN, case["case_id"])["assignee"] is None


def test_residents_read_in_a_batch_are_named_by_their_ids(community):
    r = resident(community)
    assert [p["resident_id"] for p in community.get_residents([r["resident_id"], "no-such-resident"])] == \
        [r["resident_id"]]
    for junk in ([None], [7], [""], "not-a-list"):   # str(None) would be looked up as "None"
        assert error_of(lambda: community.get_residents(junk)).exc_type == "BadInput"


def test_loading_a_missing_year_sets_the_deadlines_that_waited_for_it(start_service, service_config, settings):
    """A district of its own (its own database), so the years loaded here change no other test.
    300 working days always reach past next new year's day, whatever the date the test runs;
    the deadline is set once the years it needs are loaded."""
    start_service(CommunityService, service_config("community", DB_PREFIX=f"{settings.db_prefix}_cal"))

    def year_file(year):   # made up for the test: New Year's Day off, no make-up days
        return {"year": year, "holidays": [f"{year}-01-01"], "makeup_workdays": [], "source": "test"}
    with ClusterRpcProxy({"AMQP_URI": settings.amqp_uri}, timeout=10) as rpc:
        community = rpc.community
        community.upsert_places(demo_data.PLACES)
        long_matter = {**catalogue.MATTERS[0], "code": "LONG_REVIEW", "name": "长期审核事项", "promised_days": 300}
        community.upsert_matters([long_matter])
        this_year = clock.today().year
        community.load_calendar_year(year_file(this_year))
        r = resident(community)
        case = community.submit_case(CLERK_FENGLIN, {"resident_id": r["resident_id"], "matter_code": "LONG_REVIEW"})
        accepted = community.act_on_case(CLERK_FENGLIN, {"case_id": case["case_id"], "action": "accept"})
        assert accepted["deadline"] is None and str(this_year + 1) in accepted["deadline_problem"]

        set_now = [community.load_calendar_year(year_file(y))["deadlines_set"] for y in (this_year + 1, this_year + 2)]
        assert sum(set_now) == 1      # set by whichever load completed what it needs, once
        after = community.get_case(CLERK_FENGLIN, case["case_id"])
        assert after["deadline"][:4] in (str(this_year + 1), str(this_year + 2))
        assert after["deadline_problem"] is None and after["trail"][-1]["action"] == "deadline_set"
        assert community.load_calendar_year(year_file(this_year + 1))["deadlines_set"] == 0


def test_places_import_from_csv_and_json_whole_or_not_at_all(community, tmp_path, settings, monkeypatch, capsys):
    from infra.cli import main as cli
    monkeypatch.setenv("AMQP_URI", settings.amqp_uri)
    csv_file = tmp_path / "places.csv"
    csv_file.write_text("code,kind,name,parent\nS09,subdistrict,试点街道,\nC0901,committee,试点一居委会,S09\n"
                        "D090101,desk,试点一社区事务受理点,C0901\n", encoding="utf-8")
    assert cli.main(["import", "places", str(csv_file)]) == 0
    assert {p["code"]: p["name"] for p in community.list_places("committee")}["C0901"] == "试点一居委会"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"code": "C0902", "kind": "committee", "name": "好的", "parent": "S09"},
                               {"code": "C0903", "kind": "committee", "name": {"$ne": None}, "parent": "S09"}]),
                   encoding="utf-8")
    assert cli.main(["import", "places", str(bad)]) == 1
    assert "nothing imported" in capsys.readouterr().err
    assert "C0902" not in {p["code"] for p in community.list_places("committee")}
    # a desk must hang under a committee or a sub-district's centre, or its cases join no queue
    orphan = [{"code": "C0904", "kind": "committee", "name": "好的", "parent": "S09"},
              {"code": "D090401", "kind": "desk", "name": "受理点", "parent": "D090101"}]
    assert error_of(lambda: community.upsert_places(orphan)).exc_type == "BadInput"
    assert "C0904" not in {p["code"] for p in community.list_places("committee")}
    assert community.upsert_places([{**orphan[1], "parent": "C0901"}]) == 1


def test_calendar_cli_names_the_way_to_load_a_year_the_package_lacks(settings, monkeypatch, capsys):
    from infra.cli import main as cli
    monkeypatch.setenv("AMQP_URI", settings.amqp_uri)
    assert cli.main(["calendar", "load", "--year", "2099"]) == 1
    err = capsys.readouterr().err
    assert "2099" in err and "suite calendar load FILE.json" in err
