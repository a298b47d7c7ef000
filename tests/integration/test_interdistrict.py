"""Two districts as two suites — two vhosts, two sets of databases, a community service each —
joined by the real RabbitMQ Shovel that ``infra/district_links.py`` declares: a case accepted at
a residence desk of district A, handled at the registration committee of district B, and back
(docs/ARCHITECTURE.md, "Across districts")."""
import json
import random
import uuid

import pytest
from kombu import Connection
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy

from contracts import new_event
from contracts.events.interdistrict import IN_EXCHANGE, CaseRepliedV1, MaterialsHandedInV1, link_queue
from infra import district_links, rabbitmq_admin, topology
from services.common import deadletter
from gateway.service import GatewayService
from services.community import staff
from services.community.service import CommunityService
from support import RUN_ID, drain, id_number, load_demo_district, wait_for, web_address
from support.browser import PHONE, serious
from support.browser import missing as browser_missing
from support.browser import run as browser_run
from support.portal import Portal, console_clerk, csrf_of

A, B = "310115", "310104"        # A: where the resident lives (浦东); B: where they are registered (徐汇)
CLERK_A = {"id": "clerk-a", "role": "staff", "committee": "C0202"}   # A's residence desk
CLERK_B = {"id": "clerk-b", "role": "staff", "committee": "C0101"}   # B's registration committee


@pytest.fixture(scope="module")
def link(amqp_uri):
    """District B's vhost, and the two links (a queue and a shovel each way)."""
    vhost_b = f"suite-test-{RUN_ID}-b"
    rabbitmq_admin.create_vhost(vhost_b)
    uri_b = amqp_uri.rsplit("/", 1)[0] + "/" + vhost_b
    topology.declare(uri_b, linked={A: amqp_uri})
    topology.declare(amqp_uri, linked={B: uri_b})
    district_links.apply(uri_b, B, {A: amqp_uri})
    district_links.apply(amqp_uri, A, {B: uri_b})
    yield uri_b
    district_links.remove(amqp_uri, B)
    rabbitmq_admin.delete_vhost(vhost_b)


@pytest.fixture
def districts(link, amqp_uri, settings, service_config, start_service, db, tmp_path):
    """(rpc of A, rpc of B, A's database, B's database), each district's community service running."""
    import pymongo
    start_service(CommunityService, {**service_config("community"), "DISTRICT_CODE": A,
                                     "LINKED_DISTRICTS": f"{B}={link}", "SMS_FILE": str(tmp_path / "sms.jsonl")})
    prefix_b = f"t{RUN_ID}b"
    start_service(CommunityService, {**service_config("community"), "AMQP_URI": link, "DB_PREFIX": prefix_b,
                                     "DISTRICT_CODE": B, "LINKED_DISTRICTS": f"{A}={amqp_uri}"})
    client = pymongo.MongoClient(settings.mongo_uri, tz_aware=True)
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=10) as rpc_a, \
            ClusterRpcProxy({"AMQP_URI": link}, timeout=10) as rpc_b:
        load_demo_district(rpc_a)
        load_demo_district(rpc_b)
        yield rpc_a.community, rpc_b.community, db("community"), client[f"{prefix_b}_community"]
    client.drop_database(f"{prefix_b}_community")
    client.close()


def registered_in_b(community_a) -> dict:
    return community_a.register_resident({
        "id_number": id_number(), "name": "陈静", "phone": f"139{random.randrange(10**8):08d}", "registered_committee": None,
        "registered_district": B, "registered_place": "C0101", "residence_committee": "C0202",
        "address": "张杨路500号"})


def forward(community_a, resident) -> dict:
    case = community_a.submit_case(CLERK_A, {"resident_id": resident["resident_id"],
                                             "matter_code": "HOUSEHOLD_CERTIFICATE", "materials": ["身份证"]})
    assert (case["handling_district"], case["handling_committee"], case["status"]) == (B, "C0101", "submitted")
    return community_a.act_on_case(CLERK_A, {"case_id": case["case_id"], "action": "accept"})


def copy_in(db_b, case_id, timeout=15.0) -> dict:
    found = {}
    wait_for(lambda: found.update(db_b.cases.find_one({"origin_case": case_id}) or {}) or found, timeout=timeout)
    return found


def status_in_a(community_a, resident, case_id):
    return community_a.get_case({"id": resident["resident_id"], "role": "resident"}, case_id)


def test_a_case_goes_to_the_registration_district_and_its_replies_come_back(districts, start_service, service_config,
                                                                           rpc, tmp_path):
    community_a, community_b, db_a, db_b = districts
    gateway = start_service(GatewayService, service_config("gateway", JWT_SECRET="interdistrict-" * 4, RPC_TIMEOUT=5.0))
    portal = Portal(web_address(gateway), tmp_path / "sms.jsonl")
    resident = registered_in_b(community_a)
    assert resident["registered_district"] == B
    sent = forward(community_a, resident)
    # forwarded: nobody here acts on it; the timer watches the other district's answer limit
    assert sent["status"] == "forwarded" and sent["status_name"] == "已转外区，待对方受理"
    assert sent["actions"] == [] and sent["deadline"] and sent["trail"][-1]["district"] == B
    assert db_a.cases.find_one({"_id": sent["case_id"]})["watch"]
    browser, _ = portal.sign_in(db_a.residents.find_one({"_id": resident["resident_id"]})["phone"])
    page = browser.get(f"{portal.base}/cases/{sent['case_id']}", timeout=10).text
    assert "已转外区，待对方受理" in page and f"户籍地 {B} 区" in page and 'id="upload-form"' not in page
    clerk = console_clerk(portal.base, rpc, "C0202")
    page = clerk.get(f"{portal.base}/console/cases/{sent['case_id']}", timeout=10).text
    assert f"外区：{B} 区 C0101" in page and "待对方受理" in page and 'id="no-actions"' in page

    copy = copy_in(db_b, sent["case_id"])
    assert (copy["origin_district"], copy["handling_committee"], copy["status"]) == (A, "C0101", "submitted")
    assert copy["origin_resident"]["name"] == "陈静" and copy["materials"] == ["身份证"]
    notice = db_b.committee_notices.find_one({"case_id": copy["_id"]})
    assert notice["committee"] == "C0101" and notice["kind"] == "case_forwarded" and sent["number"] in notice["body"]
    queue = community_b.staff_queue(CLERK_B)["cases"]
    assert [c["case_id"] for c in queue if c["case_id"] == copy["_id"]] and queue[0]["origin_district"] in (A, None)

    # B accepts: A's case is accepted with B's deadline, and no longer watched by A's timer
    accepted = community_b.act_on_case(CLERK_B, {"case_id": copy["_id"], "action": "accept"})
    wait_for(lambda: status_in_a(community_a, resident, sent["case_id"])["status"] == "accepted", timeout=15)
    seen = status_in_a(community_a, resident, sent["case_id"])
    assert seen["deadline"] == accepted["deadline"] and seen["remote_case_number"] == copy["number"]
    assert "watch" not in db_a.cases.find_one({"_id": sent["case_id"]})

    # needs materials, then done
    community_b.act_on_case(CLERK_B, {"case_id": copy["_id"], "action": "request_supplement",
                                      "missing_materials": ["户口簿"]})
    wait_for(lambda: status_in_a(community_a, resident, sent["case_id"])["status"] == "supplement_required",
             timeout=15)
    seen = status_in_a(community_a, resident, sent["case_id"])
    assert seen["missing_materials"] == ["户口簿"]
    assert community_a.get_case(CLERK_A, sent["case_id"])["actions"] == ["supplement"]
    # the desk's page in a real browser on a phone: no serious accessibility fault (axe-core);
    # where there is no browser, the rest of the journey still runs
    if browser_missing() is None:
        desk_page_in_a_browser(portal.base, rpc, sent["case_id"])
    # the resident brings it to the residence desk, which records it and sends it on
    page = clerk.get(f"{portal.base}/console/cases/{sent['case_id']}", timeout=10)
    assert "户籍地要求补正" in page.text and 'id="form-supplement"' in page.text
    done = clerk.post(f"{portal.base}/console/cases/{sent['case_id']}/supplement", timeout=10, data={
        "csrf": csrf_of(page), "expected_version": community_a.get_case(CLERK_A, sent["case_id"])["version"],
        "materials": "户口簿"})
    assert done.status_code == 200 and "已转交户籍地" in done.text, done.text[-800:]
    wait_for(lambda: db_b.cases.find_one({"_id": copy["_id"]})["status"] == "accepted", timeout=15)
    assert db_b.cases.find_one({"_id": copy["_id"]})["materials"] == ["身份证", "户口簿"]
    wait_for(lambda: db_a.cases.find_one({"_id": sent["case_id"]})["trail"][-1]["action"] == "remote_accepted",
             timeout=15)
    community_b.act_on_case(CLERK_B, {"case_id": copy["_id"], "action": "complete", "note": "证明已开具"})
    wait_for(lambda: status_in_a(community_a, resident, sent["case_id"])["status"] == "completed", timeout=15)
    page = browser.get(f"{portal.base}/cases/{sent['case_id']}", timeout=10).text
    assert "户籍地已办结" in page and "需补交：户口簿" in page and copy["number"] in page
    page = clerk.get(f"{portal.base}/console/cases/{sent['case_id']}", timeout=10).text
    assert "户籍地要求补正" in page and "户口簿" in page and copy["number"] in page and "证明已开具" in page

    # the accepting desk sees the same one case; the resident was told each step in A
    desk_view = community_a.get_case(CLERK_A, sent["case_id"])
    steps = [e["action"] for e in desk_view["trail"]]
    assert steps == ["submit", "accept", "remote_accepted", "remote_needs_materials", "supplement",
                     "remote_accepted", "remote_done"], steps
    assert desk_view["trail"][-1]["note"] == "证明已开具"
    assert [c["case_id"] for c in community_a.get_cases_for_residents(
        {"id": resident["resident_id"], "role": "resident"}, [resident["resident_id"]])[resident["resident_id"]]] \
        == [sent["case_id"]]
    wait_for(lambda: db_a.notices.count_documents({"case_id": sent["case_id"]}) >= 4, timeout=15)
    assert db_b.notices.count_documents({"case_id": copy["_id"]}) == 0   # B has no inbox of A's resident


def desk_page_in_a_browser(base: str, rpc, case_id: str) -> None:
    login, password = f"clerk-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex[:12]}"
    rpc.community.staff_add(login, "刘洋", "C0202", staff.hash_password(password))
    seen = browser_run([
        {"goto": base + "/console/login"}, {"fill": "#login", "value": login},
        {"fill": "#password", "value": password}, {"click": "#sign-in"},
        {"goto": f"{base}/console/cases/{case_id}"},
        {"eval": "text", "js": "document.querySelector('main').innerText"}, {"axe": "axe_case"},
        {"eval": "fits", "js": "document.documentElement.scrollWidth <= window.innerWidth + 1"},
    ], viewport=PHONE, mobile=True)
    assert "户籍地要求补正" in seen["text"] and "登记补正材料" in seen["text"] and seen["fits"] is True
    assert serious(seen["axe_case"]) == []


def test_a_lost_link_that_recovers_loses_and_doubles_nothing(districts, amqp_uri, link):
    community_a, community_b, db_a, db_b = districts
    resident = registered_in_b(community_a)
    district_links.remove(amqp_uri, B)                 # A's link to B is down
    sent = [forward(community_a, resident) for _ in range(2)]
    wait_for(lambda: depth(amqp_uri, link_queue(B)) == 2, timeout=15)   # held while the link is down
    assert all(db_b.cases.find_one({"origin_case": c["case_id"]}) is None for c in sent)
    district_links.apply(amqp_uri, A, {B: link})       # back up: what waited goes on, in order
    copies = [copy_in(db_b, c["case_id"]) for c in sent]

    # B's link to A loses its connections while B replies; the shovel reconnects by itself
    shovel = []   # the management API lists connections some seconds after they open

    def shovel_connections():
        shovel[:] = [c["name"] for c in rabbitmq_admin.connections()
                     if district_links.shovel_name(A) in json.dumps(c.get("client_properties", {}))]
        return shovel
    wait_for(shovel_connections, timeout=15)
    for name in shovel:
        rabbitmq_admin.close_connection(name)
    for copy in copies:
        community_b.act_on_case(CLERK_B, {"case_id": copy["_id"], "action": "accept"})
    for c in sent:
        wait_for(lambda: status_in_a(community_a, resident, c["case_id"])["status"] == "accepted", timeout=20)

    # a copy of B's reply (its confirm lost with a connection: same case, same seq) is absorbed
    reply = replied({"from_district": B, "to_district": A, "case_id": sent[0]["case_id"],
                                           "seq": copies[0]["version"] + 1, "reply": "accepted"})
    publish(amqp_uri, B, reply)
    publish(amqp_uri, B, reply)
    wait_for(lambda: depth(amqp_uri, INBOUND) == 0, timeout=10)
    for c, copy in zip(sent, copies):
        assert db_b.cases.count_documents({"origin_case": c["case_id"]}) == 1
        trail = [e["action"] for e in db_a.cases.find_one({"_id": c["case_id"]})["trail"]]
        assert trail.count("remote_accepted") == 1 and trail[-1] == "remote_accepted", trail


INBOUND = "evt-interdistrict-#--community.on_interdistrict"


def replied(data: dict) -> dict:
    return new_event(CaseRepliedV1.TYPE, "interdistrict", data)


def depth(uri: str, queue: str) -> int:
    """Messages ready in ``queue`` now (a passive declare: the management API's counts lag)."""
    with Connection(uri) as conn:
        return conn.default_channel.queue_declare(queue, passive=True).message_count


def publish(uri: str, key: str, body) -> str:
    mid = uuid.uuid4().hex
    with Connection(uri, transport_options={"confirm_publish": True}) as conn:
        conn.Producer().publish(json.dumps(body).encode(), exchange=IN_EXCHANGE, routing_key=key,
                                content_type="application/json", content_encoding="utf-8", message_id=mid,
                                delivery_mode=2)
    return mid


def test_bad_interdistrict_messages_are_dead_lettered_with_their_reason_and_change_nothing(districts, amqp_uri):
    community_a, _, db_a, _ = districts
    resident = registered_in_b(community_a)
    sent = forward(community_a, resident)
    before = db_a.cases.find_one({"_id": sent["case_id"]}, {"version": 1, "status": 1})
    reply = {"from_district": B, "to_district": A, "case_id": sent["case_id"], "seq": 9, "reply": "done"}
    bad = {
        publish(amqp_uri, B, replied({**reply, "case_id": uuid.uuid4().hex})):
            "no case",
        publish(amqp_uri, "310199", replied({**reply, "from_district": "310199"})):
            "is not linked",
        publish(amqp_uri, "310199", replied(reply)): "routing key",
        publish(amqp_uri, B, {**replied(reply), "data": {**reply, "reply": "maybe"}}):
            "invalid data",
        publish(amqp_uri, B, new_event(MaterialsHandedInV1.TYPE, "interdistrict", {
            "from_district": B, "to_district": A, "case_id": sent["case_id"], "materials": ["户口簿"]})):
            "is handled here",
    }
    dead = {}

    def all_dead():
        for m in drain(amqp_uri, deadletter.dead_letter_queue("community").name, expect=0, timeout=0.3):
            dead[m.properties.get("message_id")] = m.headers[deadletter.REASON]
        return set(bad) <= set(dead)
    wait_for(all_dead, timeout=15)
    for mid, reason in bad.items():
        assert reason in dead[mid], (reason, dead[mid])
    assert db_a.cases.find_one({"_id": sent["case_id"]}, {"version": 1, "status": 1}) == before

    # registered in a district that is not linked: refused at the desk, nothing stored
    stranger = community_a.register_resident({
        "id_number": id_number(), "name": "赵敏", "registered_district": "310199", "registered_place": "C0101",
        "residence_committee": "C0202", "address": "张杨路501号"})
    with pytest.raises(RemoteError) as refused:
        community_a.submit_case(CLERK_A, {"resident_id": stranger["resident_id"], "matter_code": "HOUSEHOLD_CERTIFICATE"})
    assert refused.value.exc_type == "BadInput" and "未与本区联通" in refused.value.value
    assert db_a.cases.find_one({"resident_id": stranger["resident_id"]}) is None
    # a registration committee the other district does not have: refused back, with its reason
    wrong = community_a.register_resident({
        "id_number": id_number(), "name": "钱伟", "registered_district": B, "registered_place": "C9999",
        "residence_committee": "C0202", "address": "张杨路502号"})
    case = community_a.submit_case(CLERK_A, {"resident_id": wrong["resident_id"], "matter_code": "HOUSEHOLD_CERTIFICATE"})
    community_a.act_on_case(CLERK_A, {"case_id": case["case_id"], "action": "accept"})
    wait_for(lambda: db_a.cases.find_one({"_id": case["case_id"]})["status"] == "rejected", timeout=15)
    assert "C9999" in db_a.cases.find_one({"_id": case["case_id"]})["trail"][-1]["note"]
