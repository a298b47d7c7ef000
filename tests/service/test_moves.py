"""Moves of residence and the two committees (人户分离) with the real store and broker: a
declaration, its confirmation, the history, the lists, the committees' notices, and a case
accepted at the residence desk and handled where the resident is registered (收受分离)."""
import base64
from datetime import timedelta

import pytest
from nameko.containers import ServiceContainer
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy

from services.common import clock
from services.common import config as suite_config
from services.community.service import CommunityService
from support import free_port, id_number, load_demo_district, wait_for

TODAY = clock.today()
LONGHUA = {"id": "clerk-1", "role": "staff", "committee": "C0101"}
FENGLIN = {"id": "clerk-2", "role": "staff", "committee": "C0201"}
DONGAN = {"id": "clerk-3", "role": "staff", "committee": "C0202"}
# a town (镇) and its villagers' committee (村委): a place like any residents' committee
TOWN = [{"code": "T09", "kind": "subdistrict", "name": "惠南镇"},
        {"code": "V0901", "kind": "committee", "name": "海沿村村委会", "parent": "T09"},
        {"code": "D090101", "kind": "desk", "name": "海沿村村民事务代理点", "parent": "V0901"}]
VILLAGE = {"id": "clerk-v", "role": "staff", "committee": "V0901"}


@pytest.fixture(scope="module")
def community(settings):
    """One community service for the module (its tests use residents of their own)."""
    config = suite_config.nameko_config(settings, "community", web_port=free_port())
    config.pop("LOGGING")
    container = ServiceContainer(CommunityService, config)
    container.start()
    with ClusterRpcProxy({"AMQP_URI": settings.amqp_uri}, timeout=10) as rpc:
        load_demo_district(rpc)
        rpc.community.upsert_places(TOWN)
        yield rpc.community
    container.stop()


def register(community, registered="C0101", residence="C0101", name="李娜"):
    return community.register_resident({
        "id_number": id_number(), "name": name, "phone": "13900139001", "registered_committee": registered,
        "residence_committee": residence, "address": "龙华路9号"})["resident_id"]


def me(rid):
    return {"id": rid, "role": "resident"}


def refused(call) -> RemoteError:
    with pytest.raises(RemoteError) as err:
        call()
    return err.value


PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def declare(community, rid, committee="C0201", address="枫林路20号301室", moved_on=None):
    return community.declare_move(me(rid), {"resident_id": rid, "residence_committee": committee,
                                            "address": address, "moved_on": (moved_on or TODAY).isoformat()})


def every(read, *args):
    """Every row of a paged list (the store is shared with the session's other tests)."""
    rows, after = [], None
    for _ in range(200):
        page = read(*args, after) if after else read(*args)
        rows += page.get("rows", page.get("cases", []))
        after = page["next"] if "next" in page else page.get("next_cursor")
        if not after:
            return rows
    raise AssertionError("more pages than a test makes")


def ids(rows):
    return [r["resident_id"] for r in rows]


def test_declared_then_confirmed_by_the_new_committee_both_committees_see_and_are_told(community, db):
    rid = register(community, name="陈静")
    view = declare(community, rid)
    assert view["pending_move"]["status"] == "pending" and view["residence_committee"] == "C0101"
    assert rid in ids(every(community.moves_to_confirm, FENGLIN, None))
    assert rid not in ids(every(community.moves_to_confirm, DONGAN, None))
    wait_for(lambda: any(n["kind"] == "move_declared" and n["resident_id"] == rid
                         for n in community.committee_notices(FENGLIN)))

    # a clerk of another committee may not confirm it; nothing changes
    assert refused(lambda: community.confirm_move(DONGAN, {"resident_id": rid})).exc_type == "Forbidden"
    assert refused(lambda: community.confirm_move(me(rid), {"resident_id": rid})).exc_type == "Forbidden"
    assert db("community").residents.find_one({"_id": rid})["residence"]["committee"] == "C0101"

    done = community.confirm_move(FENGLIN, {"resident_id": rid, "move_id": view["pending_move"]["move_id"]})
    assert done["residence_committee"] == "C0201" and done["pending_move"] is None
    move = done["moves"][0]
    assert (move["declared_by"], move["declared_by_role"], move["confirmed_by"]) == (rid, "resident", "clerk-2")
    mine = community.my_residence(me(rid), rid)["moves"][0]
    assert mine["declared_by"] is None and mine["confirmed_by"] == "staff" and mine["address"] == "枫林路20号301室"
    # confirming twice is refused
    assert refused(lambda: community.confirm_move(FENGLIN, {"resident_id": rid})).exc_type == "Conflict"

    # the residence side: address, ID number masked; the registration side: no address
    living = next(r for r in every(community.living_here, FENGLIN, None) if r["resident_id"] == rid)
    assert living["address"] == "枫林路20号301室" and "*" in living["id_number_masked"]
    registered = next(r for r in every(community.registered_here, LONGHUA, None) if r["resident_id"] == rid)
    assert registered["address"] is None and registered["residence_committee"] == "C0201"
    assert rid not in ids(every(community.living_here, LONGHUA, None)) and rid not in ids(every(community.registered_here, FENGLIN, None))
    assert refused(lambda: community.living_here(FENGLIN, "C0101")).exc_type == "Forbidden"

    def told(clerk, kind):
        return wait_for(lambda: next((n for n in community.committee_notices(clerk)
                                      if n["resident_id"] == rid and n["kind"] == kind), None))
    told(FENGLIN, "moved_in")
    told(LONGHUA, "moved_out")   # the old residence, also the registration: told once
    assert [n["kind"] for n in community.committee_notices(LONGHUA) if n["resident_id"] == rid] == ["moved_out"]
    notice = next(n for n in community.committee_notices(FENGLIN) if n["kind"] == "moved_in"
                  and n["resident_id"] == rid)
    assert "身份证" not in notice["body"] and "枫林路20号" not in notice["body"]
    read = community.mark_committee_notice_read(FENGLIN, notice["notice_id"])
    assert read["read"] is True and read["read_by"] == "clerk-2"
    assert refused(lambda: community.mark_committee_notice_read(DONGAN, notice["notice_id"])).exc_type == "NotFound"


def test_bad_declarations_are_refused_and_change_nothing(community, db):
    rid = register(community)
    before = db("community").residents.find_one({"_id": rid})
    assert refused(lambda: declare(community, rid, committee="NOPE")).exc_type == "BadInput"
    assert refused(lambda: declare(community, rid, committee="D010101")).exc_type == "BadInput"   # a desk
    assert refused(lambda: declare(community, rid, moved_on=TODAY + timedelta(days=40))).exc_type == "BadInput"
    assert refused(lambda: declare(community, rid, moved_on=TODAY - timedelta(days=3650))).exc_type == "BadInput"
    other = register(community)
    assert refused(lambda: community.declare_move(me(other), {
        "resident_id": rid, "residence_committee": "C0201", "address": "x", "moved_on": TODAY.isoformat()
    })).exc_type == "Forbidden"
    after = db("community").residents.find_one({"_id": rid})
    fields = ("residence", "residence_history", "moves", "pending_move", "pending_key", "living_here_key")
    assert [after.get(f) for f in fields] == [before.get(f) for f in fields]
    assert set(after.get("outbox") or {}) <= set(before.get("outbox") or {})   # no event either
    declare(community, rid)
    second = refused(lambda: declare(community, rid, committee="C0202"))
    assert second.exc_type == "Conflict" and "等待" in second.value
    assert db("community").residents.find_one({"_id": rid})["pending_move"]["to_committee"] == "C0201"
    # a desk may not record a move over a declaration waiting
    assert refused(lambda: community.change_residence(DONGAN, {
        "resident_id": rid, "residence_committee": "C0202", "address": "东安路1号",
        "moved_on": TODAY.isoformat()})).exc_type == "Conflict"


def test_a_village_committee_of_a_town_is_a_place_like_any(community):
    rid = register(community, registered="C0102", residence="C0102", name="黄磊")
    declare(community, rid, committee="V0901", address="新丰村12组8号")
    assert rid in ids(every(community.moves_to_confirm, VILLAGE, None))
    community.confirm_move(VILLAGE, {"resident_id": rid})
    assert rid in ids(every(community.living_here, VILLAGE, None))
    moved_in = wait_for(lambda: next((n for n in community.committee_notices(VILLAGE)
                                      if n["resident_id"] == rid and n["kind"] == "moved_in"), None))
    assert "东昌新村居委会" in moved_in["body"]


def test_a_move_at_a_desk_keeps_who_recorded_it(community):
    rid = register(community, registered="C0101", residence="C0202")
    assert rid in ids(every(community.registered_here, LONGHUA, None))
    community.change_residence(DONGAN, {"resident_id": rid, "residence_committee": "C0101", "address": "龙华路3号",
                                        "moved_on": TODAY.isoformat()})
    move = community.my_residence({"id": "admin-1", "role": "admin"}, rid)["moves"][0]
    assert move["declared_by"] == move["confirmed_by"] == "clerk-3"
    # back home: on neither list any more
    assert rid not in ids(every(community.registered_here, LONGHUA, None)) and rid not in ids(every(community.living_here, LONGHUA, None))


def test_accepted_at_the_residence_desk_handled_where_registered(community):
    rid = register(community, registered="C0101", residence="C0201", name="孙丽")
    case = community.submit_case(me(rid), {"resident_id": rid, "matter_code": "HOUSEHOLD_CERTIFICATE"})
    assert (case["accepting_committee"], case["handling_committee"]) == ("C0201", "C0101")
    accepted = community.act_on_case(FENGLIN, {"case_id": case["case_id"], "action": "accept"})
    assert accepted["trail"][-1]["to_committee"] == "C0101"
    # handed on: in the registration committee's queue, the accepting desk only watches
    assert case["case_id"] in [c["case_id"] for c in every(community.staff_queue, LONGHUA, None, None, None)]
    assert community.get_case(FENGLIN, case["case_id"])["actions"] == []
    notice = wait_for(lambda: next((n for n in community.committee_notices(LONGHUA)
                                    if n["case_id"] == case["case_id"]), None))
    assert notice["kind"] == "case_handed_on" and "联洋第一居委会" in notice["body"]
    community.act_on_case(LONGHUA, {"case_id": case["case_id"], "action": "request_supplement",
                                    "missing_materials": ["户口簿"]})
    assert community.get_case(FENGLIN, case["case_id"])["actions"] == []
    assert "supplement" in community.get_case(me(rid), case["case_id"])["actions"]
    community.act_on_case(me(rid), {"case_id": case["case_id"], "action": "supplement", "materials": ["户口簿"]})
    done = community.act_on_case(LONGHUA, {"case_id": case["case_id"], "action": "complete"})
    assert community.get_case(FENGLIN, case["case_id"])["status"] == done["status"] == "completed"
    assert [c["case_id"] for c in community.get_cases_for_residents(me(rid), [rid])[rid]] == [case["case_id"]]


def test_registered_outside_the_district_stays_refused_with_a_clear_message(community, db):
    rid = register(community, registered=None, residence="C0201")
    err = refused(lambda: community.submit_case(me(rid), {"resident_id": rid, "matter_code": "HOUSEHOLD_CERTIFICATE"}))
    assert err.exc_type == "BadInput" and "户籍所在地" in err.value
    assert db("community").cases.find_one({"resident_id": rid}) is None


def test_a_declaration_withdrawn_or_returned_frees_the_resident_to_declare_again(community):
    rid = register(community, name="冯敏")
    declared = community.declare_move(me(rid), {"resident_id": rid, "residence_committee": "C0201",
                                               "address": "枫林路9号", "moved_on": clock.today().isoformat()})
    first = declared["pending_move"]["move_id"]
    # nobody else sets it aside: another resident, a clerk of another committee, a clerk without a reason
    other = register(community, name="路人")
    assert refused(lambda: community.set_aside_move(me(other), {"resident_id": rid})).exc_type == "Forbidden"
    assert refused(lambda: community.set_aside_move(DONGAN, {"resident_id": rid, "reason": "x"})).exc_type == \
        "Forbidden"
    assert refused(lambda: community.set_aside_move(FENGLIN, {"resident_id": rid})).exc_type == "BadInput"
    assert rid in ids(every(community.moves_to_confirm, FENGLIN, None))
    returned = community.set_aside_move(FENGLIN, {"resident_id": rid, "move_id": first, "reason": "地址不在本社区"})
    assert returned["pending_move"] is None and returned["moves"][0]["status"] == "returned"
    assert returned["moves"][0]["reason"] == "地址不在本社区"
    assert rid not in ids(every(community.moves_to_confirm, FENGLIN, None))
    assert refused(lambda: community.set_aside_move(FENGLIN, {"resident_id": rid, "reason": "x"})).exc_type == \
        "Conflict"
    again = community.declare_move(me(rid), {"resident_id": rid, "residence_committee": "C0201",
                                            "address": "枫林路19号", "moved_on": clock.today().isoformat()})
    withdrawn = community.set_aside_move(me(rid), {"resident_id": rid})
    assert withdrawn["pending_move"] is None and [m["status"] for m in withdrawn["moves"]][:2] == [
        "withdrawn", "returned"] and again["pending_move"]["move_id"] != first
    assert community.my_residence(me(rid), rid)["residence_committee"] == "C0101"   # nothing moved


def test_proof_of_residence_is_read_by_the_resident_and_the_confirming_committee_only(community, db):
    rid, other = register(community, name="周敏"), register(community, name="钱程")
    move_id = declare(community, rid)["pending_move"]["move_id"]
    files = lambda: len(list(db("community")["materials.files"].find({"metadata.move_id": move_id})))   # noqa: E731
    # a file that is not what it says, or to a declaration that is not mine, is refused: nothing kept
    assert refused(lambda: community.upload_move_proof(me(rid), move_id, "租赁合同.pdf", "application/pdf",
                                                       b64(b"\x89PNG\r\n\x1a\n" + b"0" * 20))).exc_type == "BadInput"
    assert refused(lambda: community.upload_move_proof(me(other), move_id, "a.pdf", "", b64(PDF))).exc_type == "Conflict"
    assert refused(lambda: community.upload_move_proof(FENGLIN, move_id, "a.pdf", "", b64(PDF))).exc_type == "Forbidden"
    assert files() == 0

    proof = community.upload_move_proof(me(rid), move_id, "租赁合同.pdf", "application/pdf", b64(PDF))
    assert proof["name"] == "租赁合同.pdf" and proof["size"] == len(PDF)
    listed = next(r for r in every(community.moves_to_confirm, FENGLIN, None) if r["resident_id"] == rid)
    assert [p["file_id"] for p in listed["pending_move"]["proofs"]] == [proof["file_id"]]
    got = community.download_material(FENGLIN, proof["file_id"])   # the committee that confirms it
    assert base64.b64decode(got["data_base64"]) == PDF and got["move_id"] == move_id
    assert any(e["purpose"] == "move" and e["by"] == "clerk-2" for e in community.get_access_log(me(rid), rid))
    assert community.download_material(me(rid), proof["file_id"])["name"] == "租赁合同.pdf"
    for stranger in (LONGHUA, DONGAN, me(other)):   # the old committee, another, another resident
        assert refused(lambda: community.download_material(stranger, proof["file_id"])).exc_type == "NotFound"

    for n in range(4):   # five files at most on one declaration
        community.upload_move_proof(me(rid), move_id, f"账单{n}.pdf", "", b64(PDF))
    assert "at most 5" in refused(lambda: community.upload_move_proof(me(rid), move_id, "x.pdf", "", b64(PDF))).value
    assert files() == 5

    community.confirm_move(FENGLIN, {"resident_id": rid, "move_id": move_id})
    history = community.my_residence(me(rid), rid)["moves"][0]
    assert history["status"] == "confirmed" and len(history["proofs"]) == 5   # kept with the move
    assert refused(lambda: community.upload_move_proof(me(rid), move_id, "y.pdf", "", b64(PDF))).exc_type == "Conflict"
    assert files() == 5 and community.download_material(FENGLIN, proof["file_id"])["name"] == "租赁合同.pdf"
