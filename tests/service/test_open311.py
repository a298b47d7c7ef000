"""Open311 GeoReport v2 at the community service, with the real store and broker: the public
matters as services, requests submitted by a keyed client, every public request read by
anyone without a key (free text only by the client that sent it), refusals in the GeoReport
error format that store nothing, no personal data out, and a stock GeoReport client from PyPI
(``georeport``) that lists, reads and follows requests without a key."""
import hashlib
import json
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest
import requests
from georeport import GeoReport
from kombu import Connection

from infra import open311_clients
from infra.cli import main as cli
from infra.local import demo_data
from services.common import clock
from services.community import catalogue, open311
from services.community.service import CommunityService
from support import id_number, load_demo_district, wait_for, web_address

NAME, PHONE, ADDRESS = "欧阳测试", "13912345678", "长柳路123弄45号678室"
FENGLIN = {"id": "c", "role": "staff", "committee": "C0201"}   # the committee where the resident lives


JURISDICTION = "310199"     # this module's district code (DISTRICT_CODE), not the default
LIANYANG_DESK = {"address_id": "D020101", "address": "长柳路100号", "zipcode": "200135",
                 "lat": 31.2236, "long": 121.5532}   # where the Lianyang residents' requests are handled


@pytest.fixture
def o311(start_service, service_config, rpc):
    container = start_service(CommunityService, {**service_config("community"), "DISTRICT_CODE": JURISDICTION})
    load_demo_district(rpc)
    return Api(web_address(container) + "/open311/v2")


class Api:
    """Calls the endpoint and keeps every body, to check that nothing personal ever left."""

    def __init__(self, base):
        self.base = base
        self.bodies: list[str] = []

    def get(self, path, **params):
        return self._keep(requests.get(f"{self.base}/{path}", params=params, timeout=10))

    def post(self, path, data=None, **kw):
        return self._keep(requests.post(f"{self.base}/{path}", data=data, timeout=10, **kw))

    def _keep(self, response):
        self.bodies.append(response.content.decode("utf-8"))
        return response

    def assert_nothing_personal(self, *secrets):
        for body in self.bodies:
            for secret in secrets:
                assert secret not in body


def register(rpc, registered="C0101", residence="C0201"):
    number = id_number()
    r = rpc.community.register_resident({
        "id_number": number, "name": NAME, "phone": PHONE, "registered_committee": registered,
        "residence_committee": residence, "address": ADDRESS})
    return r["resident_id"], number


def new_client(rpc):
    name = f"hotline-{uuid.uuid4().hex[:8]}"
    return name, open311_clients.add_client(rpc, name)


def form(key, number, service_code="ELDERLY_ALLOWANCE", **extra):
    data = {"service_code": service_code, "attribute[id_number]": number, **extra}
    if key is not None:
        data["api_key"] = key
    return data


def geo_error(response, status):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    [error] = response.json()
    assert error["code"] == status and error["description"]
    return error["description"]


def cases_of(db, resident_id):
    return list(db("community").cases.find({"resident_id": resident_id}))


# ---- services -------------------------------------------------------------------------------

def test_services_in_json_and_xml(o311):
    r = o311.get("services.json")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json; charset=utf-8"
    services = {s["service_code"]: s for s in r.json()}
    assert "KIOSK_FAULT" not in services  # internal matters are not offered
    assert set(services) == {m["code"] for m in catalogue.MATTERS if m.get("public", True)}
    elderly = services["ELDERLY_ALLOWANCE"]
    assert elderly["service_name"] == "高龄老人营养补贴申领" and elderly["metadata"] is True
    assert elderly["type"] == "realtime" and "银行卡" in elderly["keywords"] and elderly["group"] == "居住地办理"
    assert "年满70周岁" in elderly["description"] and "10个工作日" in elderly["description"]
    assert "高龄老人" in r.content.decode("utf-8")  # UTF-8, not \u escapes

    x = o311.get("services.xml")
    assert x.status_code == 200 and x.headers["Content-Type"] == "text/xml; charset=utf-8"
    root = ET.fromstring(x.content)
    assert root.tag == "services" and all(s.tag == "service" for s in root)
    by_code = {s.findtext("service_code"): s for s in root}
    assert set(by_code) == set(services)
    assert by_code["ELDERLY_ALLOWANCE"].findtext("service_name") == "高龄老人营养补贴申领"
    assert by_code["ELDERLY_ALLOWANCE"].findtext("metadata") == "true"
    assert by_code["HOUSEHOLD_CERTIFICATE"].findtext("group") == "户籍地办理"


def test_service_definition_in_json_and_xml(o311):
    r = o311.get("services/ELDERLY_ALLOWANCE.json")
    assert r.status_code == 200
    definition = r.json()
    assert definition["service_code"] == "ELDERLY_ALLOWANCE"
    attrs = {a["code"]: a for a in definition["attributes"]}
    assert attrs["id_number"]["datatype"] == "string" and attrs["id_number"]["required"] is True
    assert attrs["desk"]["datatype"] == "singlevaluelist" and attrs["desk"]["required"] is False
    assert {v["key"] for v in attrs["desk"]["values"]} >= {"D010101", "D020101"}
    assert {"key": "D020101", "name": "联洋第一社区事务受理点"} in attrs["desk"]["values"]
    assert attrs["materials"]["datatype"] == "multivaluelist"
    assert [v["key"] for v in attrs["materials"]["values"]] == ["居民身份证", "户口簿或居住证", "银行卡"]

    root = ET.fromstring(o311.get("services/ELDERLY_ALLOWANCE.xml").content)
    assert root.tag == "service_definition" and root.findtext("service_code") == "ELDERLY_ALLOWANCE"
    xml_attrs = {a.findtext("code"): a for a in root.find("attributes").findall("attribute")}
    assert set(xml_attrs) == {"id_number", "desk", "materials"}
    assert xml_attrs["id_number"].findtext("required") == "true"
    assert "联洋第一社区事务受理点" in [v.findtext("name") for v in xml_attrs["desk"].find("values").findall("value")]

    geo_error(o311.get("services/NOPE.json"), 404)
    geo_error(o311.get("services/KIOSK_FAULT.json"), 404)
    x = o311.get("services/NOPE.xml")
    assert x.status_code == 404 and x.headers["Content-Type"] == "text/xml; charset=utf-8"
    err = ET.fromstring(x.content)
    assert err.tag == "errors" and err.find("error").findtext("code") == "404"


# ---- submitting and following ----------------------------------------------------------------

def test_submit_follow_accept_and_complete(o311, rpc, db):
    resident_id, number = register(rpc)
    client, key = new_client(rpc)
    since = {"start_date": clock.now().isoformat()}   # this test's own requests (to the microsecond)
    r = o311.post("requests.json", form(key, number, description="老人腿脚不便，请上门核实",
                                        **{"attribute[materials][]": ["居民身份证", "银行卡"]}))
    assert r.status_code == 200, r.text
    [answer] = r.json()
    rid = answer["service_request_id"]
    [case] = cases_of(db, resident_id)
    assert case["_id"] == rid and case["number"] in answer["service_notice"]
    assert case["trail"][0]["by"] == f"open311:{client}" and case["trail"][0]["role"] == "system"
    assert case["accepting_desk"] == "D020101"  # the desk of the residence, by default
    assert case["handling_committee"] == "C0201" and case["materials"] == ["居民身份证", "银行卡"]
    assert case["status"] == "submitted" and case["trail"][0]["to"] == "submitted"

    [seen] = o311.get(f"requests/{rid}.json", api_key=key).json()
    assert seen["status"] == "open" and seen["status_notes"] == "已提交"
    assert seen["service_code"] == "ELDERLY_ALLOWANCE" and seen["service_name"] == "高龄老人营养补贴申领"
    assert seen["agency_responsible"] == "联洋第一居委会" and seen["description"] == "老人腿脚不便，请上门核实"
    assert seen["expected_datetime"] is None  # the clock starts at acceptance
    assert datetime.fromisoformat(seen["requested_datetime"]).utcoffset().total_seconds() == 8 * 3600

    accepted = rpc.community.act_on_case(FENGLIN, {"case_id": rid, "action": "accept"})
    [seen] = o311.get(f"requests/{rid}.json", api_key=key).json()
    assert seen["status"] == "open" and seen["status_notes"] == "已受理"
    assert seen["expected_datetime"] == f"{accepted['deadline']}T17:00:00+08:00"
    assert seen["updated_datetime"] >= seen["requested_datetime"]

    for k, v in LIANYANG_DESK.items():   # the office where it is handled, never the resident's address
        assert seen[k] == v
    assert seen["media_url"] is None

    # anyone reads it without a key: the same request, without the free text
    [public] = o311.get(f"requests/{rid}.json").json()
    assert public == {**seen, "description": "", "status_notes": "已受理"}
    listed = o311.get("requests.json", **since).json()
    assert [x["service_request_id"] for x in listed] == [rid] and listed[0]["description"] == ""
    assert o311.get("requests.json", api_key=key, **since).json()[0]["description"] == "老人腿脚不便，请上门核实"
    assert [x["service_request_id"] for x in o311.get("requests.json", status="open", **since).json()] == [rid]
    assert o311.get("requests.json", status="closed", **since).json() == []
    assert o311.get("requests.json", service_code="MINIMUM_LIVING", **since).json() == []

    root = ET.fromstring(o311.get("requests.xml", service_request_id=rid).content)
    assert root.tag == "service_requests"
    assert root.find("request").findtext("expected_datetime") == seen["expected_datetime"]
    assert root.find("request").findtext("agency_responsible") == "联洋第一居委会"
    assert root.find("request").findtext("lat") == "31.2236" and root.find("request").findtext("zipcode") == "200135"

    rpc.community.act_on_case(FENGLIN, {"case_id": rid, "action": "complete", "note": "补贴已核发"})
    [done] = o311.get(f"requests/{rid}.json", api_key=key).json()
    assert done["status"] == "closed" and done["status_notes"] == "补贴已核发"
    assert o311.get(f"requests/{rid}.json").json()[0]["status_notes"] == "已办结"   # staff's note: its client only
    assert [x["service_request_id"] for x in o311.get("requests.json", status="closed", **since).json()] == [rid]

    o311.assert_nothing_personal(number, NAME, PHONE, ADDRESS, resident_id)


def test_a_token_leads_anyone_who_holds_it_to_the_request(o311, rpc):
    _, number = register(rpc)
    _, key = new_client(rpc)
    [answer] = o311.post("requests.json", form(key, number)).json()
    token, rid = answer["token"], answer["service_request_id"]
    assert token.startswith("tok-") and token != rid
    assert o311.get(f"tokens/{token}.json").json() == [{"service_request_id": rid, "token": token}]   # no key
    root = ET.fromstring(o311.get(f"tokens/{token}.xml").content)
    assert root.tag == "service_requests" and root.find("request").findtext("service_request_id") == rid
    geo_error(o311.get("tokens/tok-0123456789abcdef0123456789abcdef.json"), 404)
    geo_error(o311.get("tokens/%7B%22$ne%22:null%7D.json"), 404)
    geo_error(o311.get(f"tokens/{token}.json", api_key="x.y"), 403)    # a wrong key is refused, not ignored


def test_submit_in_xml_with_a_chosen_desk(o311, rpc, db):
    resident_id, number = register(rpc)
    _, key = new_client(rpc)
    r = o311.post("requests.xml", form(key, number, "COMMUNITY_VENUE", **{"attribute[desk]": "D010101"}))
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/xml; charset=utf-8"
    root = ET.fromstring(r.content)
    assert root.tag == "service_requests"
    rid = root.find("request").findtext("service_request_id")
    [case] = cases_of(db, resident_id)
    assert case["_id"] == rid and case["accepting_desk"] == "D010101" and case["handling_committee"] == "C0101"
    o311.assert_nothing_personal(number, NAME, PHONE, ADDRESS)


def test_rejected_case_is_closed_with_the_reason(o311, rpc):
    _, number = register(rpc)
    _, key = new_client(rpc)
    [answer] = o311.post("requests.json", form(key, number, "RESIDENCE_PERMIT")).json()
    rpc.community.act_on_case(FENGLIN, {"case_id": answer["service_request_id"], "action": "reject",
                                        "reason": "材料不全"})
    [seen] = o311.get(f"requests/{answer['service_request_id']}.json", api_key=key).json()
    assert seen["status"] == "closed" and seen["status_notes"] == "材料不全"


# ---- keys --------------------------------------------------------------------------------------

def test_missing_or_wrong_key_is_refused_and_stores_nothing(o311, rpc, db):
    resident_id, number = register(rpc)
    client, key = new_client(rpc)
    assert "api_key" in geo_error(o311.post("requests.json", form(None, number)), 401)
    geo_error(o311.post("requests.json", form("", number)), 401)
    geo_error(o311.post("requests.json", form(key[:-1] + ("A" if key[-1] != "A" else "B"), number)), 403)
    geo_error(o311.post("requests.json", form(f"nobody-{uuid.uuid4().hex[:6]}.{key.split('.', 1)[1]}", number)), 403)
    geo_error(o311.post("requests.json", form("no-dot-at-all", number)), 403)
    geo_error(o311.post("requests.json", form(key + "x" * 300, number)), 403)
    x = o311.post("requests.xml", form(None, number))
    assert x.status_code == 401 and ET.fromstring(x.content).find("error").findtext("code") == "401"
    assert cases_of(db, resident_id) == []

    geo_error(o311.get("requests.json", api_key="x.y"), 403)     # reading needs no key; a wrong one is refused
    geo_error(o311.get("requests/abc.json", api_key=key[:-1]), 403)
    # the key is kept only as its hash
    stored = db("community").open311_clients.find_one({"_id": client})
    assert stored["key_hash"] == hashlib.sha256(key.encode()).hexdigest() and stored["created_at"]
    assert key.split(".", 1)[1] not in json.dumps(stored, default=str)
    assert len(key.split(".", 1)[1]) >= 32


def test_another_client_reads_the_request_as_the_public_does(o311, rpc):
    _, number = register(rpc)
    _, key_a = new_client(rpc)
    _, key_b = new_client(rpc)
    sent = requests.post(f"{o311.base}/requests.json", data=form(key_a, number, description="请电话联系我 13912345678"),
                         timeout=10)
    [answer] = sent.json()
    rid = answer["service_request_id"]
    # the sending client reads back what it sent (not kept among the bodies checked below)
    mine = requests.get(f"{o311.base}/requests/{rid}.json", params={"api_key": key_a}, timeout=10).json()[0]
    [theirs] = o311.get(f"requests/{rid}.json", api_key=key_b).json()
    assert mine["description"] == "请电话联系我 13912345678" and theirs["description"] == ""
    assert theirs == o311.get(f"requests/{rid}.json").json()[0]
    assert [x["service_request_id"] for x in o311.get("requests.json", api_key=key_b,
                                                      service_request_id=f"{rid},nope").json()] == [rid]
    o311.assert_nothing_personal(number, NAME, PHONE, ADDRESS, "13912345678")


def test_every_public_request_is_listed_newest_first_and_paged(o311, rpc, db, settings):
    since = clock.now()   # this test's requests are the ones submitted from now on
    _, number = register(rpc)
    _, key = new_client(rpc)
    by_client = [o311.post("requests.json", form(key, number, code)).json()[0]["service_request_id"]
                 for code in ("ELDERLY_ALLOWANCE", "COMMUNITY_VENUE", "RESIDENCE_PERMIT")]
    resident_id, _ = register(rpc)
    at_desk = rpc.community.submit_case(FENGLIN, {"resident_id": resident_id, "matter_code": "ELDERLY_ALLOWANCE",
                                                  "note": "王阿姨代办"})["case_id"]
    fault = kiosk_fault_case(db, settings)   # an internal matter's case: never public
    newest_first = [at_desk] + by_client[::-1]
    window = {"start_date": since.isoformat()}
    assert [x["service_request_id"] for x in o311.get("requests.json", **window).json()] == newest_first
    pages = [[x["service_request_id"] for x in o311.get("requests.json", page=p, page_size=2, **window).json()]
             for p in (1, 2, 3)]
    assert pages == [newest_first[:2], newest_first[2:], []]
    assert [x["service_request_id"] for x in o311.get(
        "requests.json", service_code="ELDERLY_ALLOWANCE,COMMUNITY_VENUE", **window).json()] == \
        [at_desk, by_client[1], by_client[0]]
    assert o311.get("requests.json", service_code="KIOSK_FAULT", **window).json() == []
    geo_error(o311.get(f"requests/{fault}.json"), 404)
    assert o311.get("requests.json", service_request_id=fault).json() == []
    # a window that ends before them, and one 90 days long that holds them
    before = o311.get("requests.json", end_date=since.isoformat(), page_size=200).json()
    assert not {x["service_request_id"] for x in before} & set(newest_first)
    assert len(o311.get("requests.json", start_date=(since - timedelta(days=89)).isoformat(),
                        end_date=(since + timedelta(days=1)).isoformat(), page_size=200).json()) >= 4
    o311.assert_nothing_personal(number, NAME, PHONE, ADDRESS, resident_id, "王阿姨代办")


def kiosk_fault_case(db, settings) -> str:
    """A maintenance case opened by a kiosk fault (the KIOSK_FAULT matter is internal)."""
    envelope = {"specversion": "1.0", "id": uuid.uuid4().hex, "source": "library",
                "type": "cn.library.kiosk.fault.v1", "time": clock.now().isoformat(),
                "data": {"kiosk_id": f"K-{uuid.uuid4().hex[:6]}", "kiosk_name": "枫林路24小时图书馆",
                         "committee": "C0201", "fault_code": "PRINTER_JAM", "description": "凭条打印机卡纸",
                         "reported_at": clock.now().isoformat()}}
    with Connection(settings.amqp_uri) as conn:
        conn.Producer().publish(json.dumps(envelope), exchange="library.events", routing_key=envelope["type"],
                                content_type="application/json")
    return wait_for(lambda: db("community").cases.find_one({"_id": f"kf-{envelope['id']}"}))["_id"]


def test_the_stock_georeport_client_reads_without_a_key(o311, rpc):
    """``georeport`` 0.3.1 from PyPI, as a civic app would use it: no key for reading; it has
    no call for submitting, so its app posts the form itself, with the key."""
    _, number = register(rpc)
    _, key = new_client(rpc)
    posted = requests.post(f"{o311.base}/requests.json", data=form(key, number, jurisdiction_id=JURISDICTION),
                           timeout=10)
    assert posted.status_code == 200, posted.text
    rid = posted.json()[0]["service_request_id"]
    for output in ("json", "xml"):
        client = GeoReport(o311.base, jurisdiction=JURISDICTION, output_format=output)
        assert client.api_key is None
        services = client.get_service_list()
        assert "ELDERLY_ALLOWANCE" in {s["service_code"] for s in services}
        definition = client.get_service_definition("ELDERLY_ALLOWANCE")
        assert definition["service_code"] == "ELDERLY_ALLOWANCE"
        request = client.get_service_request(rid)
        assert request["service_request_id"] == rid and request["agency_responsible"] == "联洋第一居委会"
        assert request["address_id"] == "D020101" and request["status"] == "open"
        listed = client.get_service_requests(service_request_id=rid)
        listed = [listed] if isinstance(listed, dict) else listed   # xmltodict: one element is a dict
        assert [x["service_request_id"] for x in listed] == [rid]
        recent = client.get_service_requests(start_date=(clock.now() - timedelta(minutes=5)).isoformat(),
                                             status="open")
        recent = [recent] if isinstance(recent, dict) else recent
        assert rid in {x["service_request_id"] for x in recent}
    elsewhere = GeoReport(o311.base, jurisdiction="440305")
    with pytest.raises(requests.HTTPError) as refused:
        elsewhere.get_service_list()
    assert refused.value.response.status_code == 404 and "440305" in refused.value.response.json()[0]["description"]
    o311.assert_nothing_personal(number, NAME, PHONE, ADDRESS)


def test_service_discovery(o311):
    base = o311.base.rsplit("/v2", 1)[0]
    doc = requests.get(f"{base}/discovery.json", timeout=10).json()
    [endpoint] = doc["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == o311.base + "/" and endpoint["type"] == "production"
    assert set(endpoint["formats"]) == {"application/json", "text/xml"}
    assert doc["changeset"] and doc["contact"] and doc["key_service"]
    root = ET.fromstring(requests.get(f"{base}/discovery.xml", timeout=10).content)
    assert root.tag == "discovery"
    assert [f.text for f in root.find("endpoints").find("endpoint").find("formats").findall("format")] == \
        ["text/xml", "application/json"]
    assert requests.get(f"{o311.base}/discovery.json", timeout=10).json() == doc


# ---- refusals ----------------------------------------------------------------------------------

@pytest.mark.parametrize("change", [
    {"service_code": "NOPE"},
    {"service_code": "KIOSK_FAULT"},                        # internal matter
    {"service_code": '{"$gt": ""}'},
    {"service_code": ""},
    {"attribute[id_number]": '{"$ne": null}'},
    {"attribute[id_number]": '{"$gt": ""}'},
    {"attribute[id_number]": "[]"},
    {"attribute[id_number]": "BAD_CHECKSUM"},
    {"attribute[id_number]": "NOT_REGISTERED"},
    {"attribute[id_number]": ""},
    {"attribute[desk]": '{"$ne": null}'},
    {"attribute[desk]": "D999999"},
    {"attribute[materials][]": ["营业执照"]},              # not one of the matter's materials
    {"attribute[colour]": "red"},
    {"description": "长" * 2001},
    {"description": "bad\x00byte"},
    {"service_code": "HOUSEHOLD_CERTIFICATE", "outsider": True},   # registered outside the district
])
def test_bad_input_answers_400_and_stores_nothing(o311, rpc, db, change):
    change = dict(change)
    registered = None if change.pop("outsider", False) else "C0101"
    resident_id, number = register(rpc, registered=registered)
    _, key = new_client(rpc)
    data = form(key, number)
    for field, value in change.items():
        if value == "BAD_CHECKSUM":
            value = number[:-1] + ("0" if number[-1] != "0" else "1")
        elif value == "NOT_REGISTERED":
            value = id_number()
        data[field] = value
    description = geo_error(o311.post("requests.json", data), 400)
    assert number not in description and NAME not in description
    x = o311.post("requests.xml", data)
    assert x.status_code == 400 and ET.fromstring(x.content).find("error").findtext("code") == "400"
    assert cases_of(db, resident_id) == []
    o311.assert_nothing_personal(NAME, PHONE, ADDRESS)


def test_a_json_body_is_not_read_as_a_form(o311, rpc, db):
    resident_id, number = register(rpc)
    _, key = new_client(rpc)
    r = o311.post(f"requests.json?api_key={key}", None,
                  json={"service_code": "ELDERLY_ALLOWANCE", "attribute": {"id_number": {"$ne": None}}})
    geo_error(r, 400)
    r = o311.post("requests.json", None, json={"api_key": key, "service_code": "ELDERLY_ALLOWANCE",
                                               "attribute[id_number]": number})
    geo_error(r, 401)
    assert cases_of(db, resident_id) == []


def test_an_oversized_body_is_refused(o311, rpc, db):
    resident_id, number = register(rpc)
    _, key = new_client(rpc)
    geo_error(o311.post("requests.json", form(key, number, description="x" * 100_000)), 413)
    assert cases_of(db, resident_id) == []


def test_a_field_given_twice_is_refused(o311, rpc, db):
    resident_id, number = register(rpc)
    _, key = new_client(rpc)
    data = [("api_key", key), ("service_code", "ELDERLY_ALLOWANCE"), ("attribute[id_number]", number),
            ("attribute[id_number]", id_number())]
    geo_error(o311.post("requests.json", data), 400)
    assert cases_of(db, resident_id) == []


def test_bad_query_parameters(o311, rpc):
    geo_error(o311.get("requests.json", status="pending"), 400)
    geo_error(o311.get("requests.json", start_date="yesterday"), 400)
    geo_error(o311.get("requests.json", start_date="2026-02-01T00:00:00Z", end_date="2026-01-01T00:00:00Z"), 400)
    assert "90 days" in geo_error(o311.get("requests.json", start_date="2026-01-01T00:00:00Z",
                                           end_date="2026-04-02T00:00:00Z"), 400)
    geo_error(o311.get("requests.json", service_request_id='{"$ne": null}'), 400)
    geo_error(o311.get("requests.json", end_date="0001-01-05T00:00:00Z"), 400)   # was a 500
    geo_error(o311.get("requests.json", start_date="9999-12-31T23:59:59-05:00"), 400)
    for paging in ({"page": "0"}, {"page": "-1"}, {"page": "x"}, {"page_size": "201"}, {"page_size": "0"}):
        geo_error(o311.get("requests.json", **paging), 400)
    assert o311.get("requests.json", start_date="2099-01-01T00:00:00+08:00",
                    end_date="2099-02-01T00:00:00+08:00").json() == []
    assert o311.get("requests.json", jurisdiction_id=JURISDICTION).status_code == 200
    for path in ("requests.json", "services.json", "services/ELDERLY_ALLOWANCE.json", "requests/abc.json"):
        assert "310104" in geo_error(o311.get(path, jurisdiction_id="310104"), 404)   # not this district
    geo_error(o311.get("requests.json", jurisdiction_id='{"$ne": null}'), 404)


@pytest.mark.parametrize("path", ["requests.csv", "services.csv", "services/ELDERLY_ALLOWANCE.html",
                                  "requests/abc.yaml", "tokens/tok-0123456789abcdef0123456789abcdef.csv",
                                  "requests", "services", "nothing/here.json", "../discovery.csv"])
def test_an_unknown_format_or_path_answers_the_error_list_not_a_page(o311, path):
    r = o311.get(path)
    assert 400 <= r.status_code < 500
    assert r.headers["Content-Type"] == "application/json; charset=utf-8", r.text
    [error] = r.json()
    assert error["code"] == r.status_code and error["description"]


def test_a_post_in_an_unknown_format_or_jurisdiction_stores_nothing(o311, rpc, db):
    resident_id, number = register(rpc)
    _, key = new_client(rpc)
    geo_error(o311.post("requests.csv", form(key, number)), 400)
    geo_error(o311.post("requests.json", form(key, number, jurisdiction_id="440305")), 404)
    assert cases_of(db, resident_id) == []


# ---- the CLI -----------------------------------------------------------------------------------

def test_cli_adds_a_client_and_prints_its_key_alone_on_the_last_line(o311, rpc, settings, monkeypatch, capsys):
    monkeypatch.setenv("AMQP_URI", settings.amqp_uri)
    name = f"app-{uuid.uuid4().hex[:8]}"
    assert cli.main(["open311", "client", "add", name]) == 0
    key = capsys.readouterr().out.rstrip("\n").splitlines()[-1]
    assert key.startswith(f"{name}.")
    assert o311.get("requests.json", api_key=key).status_code == 200     # the key is known
    assert cli.main(["open311", "client", "add", name]) == 1  # taken
    assert "exists" in capsys.readouterr().err
    assert cli.main(["open311", "client", "add", "no.dots"]) == 1


# ---- the pure module ---------------------------------------------------------------------------

def test_xml_is_escaped_and_well_formed_whatever_the_text():
    body, content_type = open311.render("errors", [{"code": 400, "description": "<a>&\"'\x01]]>尾"}], "xml")
    assert content_type == "text/xml; charset=utf-8" and body.startswith(b"<?xml")
    root = ET.fromstring(body)
    assert root.find("error").findtext("description") == "<a>&\"'\ufffd]]>尾"


def test_a_request_view_has_nothing_personal():
    case = {"_id": "k1", "number": "D020101-20260105-0001", "resident_id": "r1", "resident_name": NAME,
            "matter_code": "ELDERLY_ALLOWANCE", "matter_name": "高龄老人营养补贴申领", "handling_committee": "C0201",
            "status": "in_progress", "submitted_at": "2026-01-05T01:00:00.123456+00:00", "deadline": "2026-01-19",
            "trail": [{"at": "2026-01-05T01:00:00+00:00", "by": "open311:x", "from": None, "to": "submitted",
                       "action": "submit", "note": None},
                      {"at": "2026-01-06T01:00:00+00:00", "by": "c", "from": "accepted", "to": "in_progress",
                       "action": "start", "note": None},
                      {"at": "2026-01-07T01:00:00+00:00", "by": "system", "from": "in_progress",
                       "to": "in_progress", "action": "due_soon", "note": None}]}
    view = open311.request_view(case, "联洋第一居委会", {"_id": "D020101", **demo_data._OFFICES["C0201"]}, full=True)
    assert view["requested_datetime"] == "2026-01-05T09:00:00+08:00"
    assert view["updated_datetime"] == "2026-01-07T09:00:00+08:00"
    assert view["expected_datetime"] == "2026-01-19T17:00:00+08:00"
    assert view["status"] == "open" and view["status_notes"] == "办理中"
    assert NAME not in json.dumps(view, ensure_ascii=False) and "r1" not in json.dumps(view)
    assert open311.submitted_by(case) == "x"


def test_the_window_is_ninety_days_at_most_from_either_end():
    now = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
    day = timedelta(days=1)
    assert open311.window(None, None, now) == (now - 90 * day, now)
    assert open311.window(now - 200 * day, None, now) == (now - 200 * day, now - 110 * day)
    assert open311.window(None, now - 10 * day, now) == (now - 100 * day, now - 10 * day)
    assert open311.window(now - 90 * day, now, now) == (now - 90 * day, now)
    with pytest.raises(open311.Open311Error, match="90 days"):
        open311.window(now - 91 * day, now, now)
    with pytest.raises(open311.Open311Error, match="after"):
        open311.window(now, now - day, now)
