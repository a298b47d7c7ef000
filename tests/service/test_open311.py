"""Open311 GeoReport v2 at the community service, with the real store and broker: the public
matters as services, requests submitted by a keyed client and followed by that client only,
refusals in the GeoReport error format that store nothing, and no personal data out."""
import hashlib
import json
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
import requests

from infra import open311_clients
from infra.cli import main as cli
from services.community import catalogue, open311
from services.community.service import CommunityService
from support import id_number, load_demo_district, web_address

NAME, PHONE, ADDRESS = "欧阳测试", "13912345678", "枫林路123弄45号678室"
FENGLIN = {"id": "c", "role": "staff", "committee": "C0201"}   # the committee where the resident lives


@pytest.fixture
def o311(start_service, rpc):
    container = start_service(CommunityService)
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
    assert {"key": "D020101", "name": "枫林路社区事务受理点"} in attrs["desk"]["values"]
    assert attrs["materials"]["datatype"] == "multivaluelist"
    assert [v["key"] for v in attrs["materials"]["values"]] == ["居民身份证", "户口簿或居住证", "银行卡"]

    root = ET.fromstring(o311.get("services/ELDERLY_ALLOWANCE.xml").content)
    assert root.tag == "service_definition" and root.findtext("service_code") == "ELDERLY_ALLOWANCE"
    xml_attrs = {a.findtext("code"): a for a in root.find("attributes").findall("attribute")}
    assert set(xml_attrs) == {"id_number", "desk", "materials"}
    assert xml_attrs["id_number"].findtext("required") == "true"
    assert "枫林路社区事务受理点" in [v.findtext("name") for v in xml_attrs["desk"].find("values").findall("value")]

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
    assert seen["agency_responsible"] == "枫林路居委会" and seen["description"] == "老人腿脚不便，请上门核实"
    assert seen["expected_datetime"] is None  # the clock starts at acceptance
    assert datetime.fromisoformat(seen["requested_datetime"]).utcoffset().total_seconds() == 8 * 3600

    accepted = rpc.community.act_on_case(FENGLIN, {"case_id": rid, "action": "accept"})
    [seen] = o311.get(f"requests/{rid}.json", api_key=key).json()
    assert seen["status"] == "open" and seen["status_notes"] == "已受理"
    assert seen["expected_datetime"] == f"{accepted['deadline']}T17:00:00+08:00"
    assert seen["updated_datetime"] >= seen["requested_datetime"]

    listed = o311.get("requests.json", api_key=key).json()
    assert [x["service_request_id"] for x in listed] == [rid]
    assert [x["service_request_id"] for x in o311.get("requests.json", api_key=key, status="open").json()] == [rid]
    assert o311.get("requests.json", api_key=key, status="closed").json() == []
    assert o311.get("requests.json", api_key=key, service_code="MINIMUM_LIVING").json() == []

    root = ET.fromstring(o311.get("requests.xml", api_key=key, service_request_id=rid).content)
    assert root.tag == "service_requests"
    assert root.find("request").findtext("expected_datetime") == seen["expected_datetime"]
    assert root.find("request").findtext("agency_responsible") == "枫林路居委会"

    rpc.community.act_on_case(FENGLIN, {"case_id": rid, "action": "complete", "note": "补贴已核发"})
    [done] = o311.get(f"requests/{rid}.json", api_key=key).json()
    assert done["status"] == "closed" and done["status_notes"] == "补贴已核发"
    assert [x["service_request_id"] for x in o311.get("requests.json", api_key=key, status="closed").json()] == [rid]

    o311.assert_nothing_personal(number, NAME, PHONE, ADDRESS, resident_id)


def test_a_token_leads_its_own_client_to_the_request(o311, rpc):
    _, number = register(rpc)
    _, key = new_client(rpc)
    _, other_key = new_client(rpc)
    [answer] = o311.post("requests.json", form(key, number)).json()
    token, rid = answer["token"], answer["service_request_id"]
    assert token.startswith("tok-") and token != rid
    assert o311.get(f"tokens/{token}.json", api_key=key).json() == [{"service_request_id": rid, "token": token}]
    root = ET.fromstring(o311.get(f"tokens/{token}.xml", api_key=key).content)
    assert root.tag == "service_requests" and root.find("request").findtext("service_request_id") == rid
    geo_error(o311.get(f"tokens/{token}.json", api_key=other_key), 404)   # not another client's
    geo_error(o311.get("tokens/tok-0123456789abcdef0123456789abcdef.json", api_key=key), 404)
    geo_error(o311.get("tokens/%7B%22$ne%22:null%7D.json", api_key=key), 404)
    assert o311.get(f"tokens/{token}.json").status_code in (401, 403)     # no key


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

    geo_error(o311.get("requests.json"), 401)
    geo_error(o311.get("requests/abc.json"), 401)
    geo_error(o311.get("requests.json", api_key="x.y"), 403)
    # the key is kept only as its hash
    stored = db("community").open311_clients.find_one({"_id": client})
    assert stored["key_hash"] == hashlib.sha256(key.encode()).hexdigest() and stored["created_at"]
    assert key.split(".", 1)[1] not in json.dumps(stored, default=str)
    assert len(key.split(".", 1)[1]) >= 32


def test_another_clients_key_cannot_see_the_request(o311, rpc):
    _, number = register(rpc)
    _, key_a = new_client(rpc)
    _, key_b = new_client(rpc)
    [answer] = o311.post("requests.json", form(key_a, number)).json()
    rid = answer["service_request_id"]
    geo_error(o311.get(f"requests/{rid}.json", api_key=key_b), 404)
    assert o311.get("requests.json", api_key=key_b).json() == []
    assert o311.get("requests.json", api_key=key_b, service_request_id=rid).json() == []
    assert [x["service_request_id"] for x in o311.get("requests.json", api_key=key_a,
                                                      service_request_id=f"{rid},nope").json()] == [rid]


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
    _, key = new_client(rpc)
    geo_error(o311.get("requests.json", api_key=key, status="pending"), 400)
    geo_error(o311.get("requests.json", api_key=key, start_date="yesterday"), 400)
    geo_error(o311.get("requests.json", api_key=key, start_date="2026-02-01T00:00:00Z",
                       end_date="2026-01-01T00:00:00Z"), 400)
    geo_error(o311.get("requests.json", api_key=key, service_request_id='{"$ne": null}'), 400)
    geo_error(o311.get("requests.json", api_key=key, end_date="0001-01-05T00:00:00Z"), 400)   # was a 500
    geo_error(o311.get("requests.json", api_key=key, start_date="9999-12-31T23:59:59-05:00"), 400)
    assert o311.get("requests.json", api_key=key, start_date="2099-01-01T00:00:00+08:00",
                    end_date="2099-02-01T00:00:00+08:00").json() == []


# ---- the CLI -----------------------------------------------------------------------------------

def test_cli_adds_a_client_and_prints_its_key_alone_on_the_last_line(o311, rpc, settings, monkeypatch, capsys):
    monkeypatch.setenv("AMQP_URI", settings.amqp_uri)
    name = f"app-{uuid.uuid4().hex[:8]}"
    assert cli.main(["open311", "client", "add", name]) == 0
    key = capsys.readouterr().out.rstrip("\n").splitlines()[-1]
    assert key.startswith(f"{name}.")
    assert o311.get("requests.json", api_key=key).json() == []
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
    view = open311.request_view(case, "枫林路居委会")
    assert view["requested_datetime"] == "2026-01-05T09:00:00+08:00"
    assert view["updated_datetime"] == "2026-01-07T09:00:00+08:00"
    assert view["expected_datetime"] == "2026-01-19T17:00:00+08:00"
    assert view["status"] == "open" and view["status_notes"] == "办理中"
    assert NAME not in json.dumps(view, ensure_ascii=False) and "r1" not in json.dumps(view)
    assert open311.submitted_by(case) == "x"
