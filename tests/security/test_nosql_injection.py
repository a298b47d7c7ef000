"""NoSQL injection, proven at the driver: operator objects and ``$``-keys pushed through every
way in from outside (GraphQL variables, kiosk messages, SIP2 fields, import files) are refused
with a clear error, and a pymongo CommandListener shows that no command sent to the store
carried them: no ``$where`` (or another code-running operator) anywhere, and the attacker's
marker never in a key, never under an operator, and (for inputs that are objects) nowhere.

Each attack carries a marker no code of the suite writes by itself, so the operators the code
uses on purpose (``$set``, ``$gt`` on a queue key...) do not confuse the check.
"""
import json
import socket
import uuid
from datetime import timezone

import graphql
import pytest
from kombu import Connection

from support import free_port
from contracts.events.kiosk import BY_KIND, broker_user
from hostile_suite import codes, driver, injections, marker, suite  # noqa: F401  (fixtures)
from gateway.schema import schema
from infra.imports import community as community_import
from infra.imports.files import ImportFileError
from infra.local import demo_data
from services.common import clock
from services.community.service import CommunityService
from services.library.service import LibraryService
from services.library.sip2 import accounts as sip2_accounts
from services.library.sip2 import messages as sip2_messages
from support import drain, id_number, wait_for


def hostile_values(mark: str) -> list:
    return [{"$ne": mark}, {"$gt": "", "$regex": mark}, {"$where": f"sleep(100) || '{mark}'"}, [{"$ne": mark}],
            {"$where": mark, "code": mark}]


# ---- the check itself can fail -------------------------------------------------------------

def test_the_listener_sees_operators_and_markers_the_driver_sends(driver, db):
    mark = marker()
    db("community").residents.find_one({"name": {"$ne": mark}})
    assert injections(driver.commands, mark, text_allowed=True) == [
        "find: value at $cmd.filter.name.$ne: " + repr(mark)]
    driver.clear()
    db("community").scratch.insert_one({"_id": mark, "note": mark})
    db("community").scratch.delete_one({"_id": mark})
    assert injections(driver.commands, mark, text_allowed=True) == []          # plain text data
    assert len(injections(driver.commands, mark)) == 3                         # ...but there, in strict mode


# ---- GraphQL variables -------------------------------------------------------------------

def _dummy(type_) -> str:
    """A literal that fits an argument's type (to fill the required arguments not under attack)."""
    type_ = graphql.get_nullable_type(type_)
    if isinstance(type_, graphql.GraphQLList):
        return f"[{_dummy(type_.of_type)}]"
    if isinstance(type_, graphql.GraphQLEnumType):
        return next(iter(type_.values))
    return {"Int": "1", "Boolean": "true"}.get(type_.name, '"x"')


def every_argument():
    """(field, argument, document) for every argument of every root field, taken from the
    variable ``$v`` (the schema has no input objects today: one added later gets the same
    values, ``$``-keys included)."""
    gql = schema.graphql_schema
    for operation, root in (("query", gql.query_type), ("mutation", gql.mutation_type)):
        for name, field in root.fields.items():
            named = graphql.get_named_type(field.type)
            selection = " { __typename }" if isinstance(named, graphql.GraphQLObjectType) else ""
            for arg_name, arg in field.args.items():
                others = [f"{n}: {_dummy(a.type)}" for n, a in field.args.items()
                          if n != arg_name and graphql.is_non_null_type(a.type)]
                args = ", ".join([f"{arg_name}: $v"] + others)
                yield name, arg_name, f"{operation}($v: {arg.type}) {{ {name}({args}){selection} }}"


def test_operator_objects_in_graphql_variables_never_reach_the_store(suite, driver):
    mark = marker()
    tokens = {"resident": suite.token("resident"), "staff": suite.token("staff")}
    tried = 0
    for field, arg, document in every_argument():
        for value in hostile_values(mark):
            for role, token in tokens.items():
                answer = suite.ask(document, {"v": value}, token=token)
                assert codes(answer) == ["BAD_USER_INPUT"], (role, field, arg, value, answer)
                assert "$v" in answer["errors"][0]["message"] and "data" not in answer
                tried += 1
    assert tried >= 200
    # variables the operation does not declare are never read (graphql-core ignores them)
    submitted = suite.ask('mutation($m: String!) { submitCase(matterCode: $m) { id } }',
                          {"m": "ELDERLY_ALLOWANCE", "$where": mark, "m2": {"$ne": mark}}, token=tokens["resident"])
    assert submitted["data"]["submitCase"]["id"]
    # a literal with an operator's shape is only text: an unknown matter
    text = suite.ask('mutation { submitCase(matterCode: "{\\"$ne\\": \\"%s\\"}") { id } }' % mark,
                     token=tokens["resident"])
    assert codes(text) in (["BAD_USER_INPUT"], ["NOT_FOUND"])
    assert injections(driver.commands, mark, text_allowed=True) == []
    assert not [c for c in driver.commands if mark in json.dumps(c[1], default=str) and c[0] != "find"]
    # the control: what the listener sees of the services' own clients
    suite.ask('mutation($a: String!) { registerResident(idNumber: "%s", name: "王芳", residenceCommittee: "C0201", '
              'address: $a) { id } }' % id_number(), {"a": mark}, token=tokens["staff"])
    assert any(c[0] == "insert" for c in driver.commands if mark in json.dumps(c[1], default=str))


# ---- kiosk messages ----------------------------------------------------------------------

def publish_raw(uri: str, kiosk_id: str, kind: str, envelope: dict) -> None:
    """What a kiosk (or someone holding its credentials) can put on the wire, unchecked."""
    with Connection(uri, transport_options={"confirm_publish": True}) as conn:
        conn.Producer().publish(json.dumps(envelope), exchange="kiosk.events", routing_key=f"kiosk.{kiosk_id}.{kind}",
                                content_type="application/json", delivery_mode=2, user_id=broker_user(kiosk_id))


def test_operator_objects_in_kiosk_messages_are_dead_lettered_unapplied(suite, driver, kiosk, settings, rpc):
    kiosk_id, uri = kiosk
    rpc.library.upsert_locations([{"code": kiosk_id, "kind": "kiosk", "name": "注入测试", "committee": "C0101"}])
    marks = {}

    def attack(kind, data, **envelope):
        mark = marker()
        data = json.loads(json.dumps(data).replace("MARK", mark))
        envelope = json.loads(json.dumps(envelope).replace("MARK", mark))
        body = {"specversion": "1.0", "id": uuid.uuid4().hex, "source": f"/kiosks/{kiosk_id}",
                "type": BY_KIND[kind].TYPE, "time": clock.now().isoformat(), "sequence": 1,
                "data": data, **envelope}
        publish_raw(uri, kiosk_id, kind, body)
        marks[mark] = (kind, data, envelope)

    attack("checkout", {"barcode": {"$ne": "MARK"}, "card_number": {"$gt": "MARK"}})
    attack("checkin", {"barcode": {"$where": "sleep(100) || 'MARK'"}})
    attack("checkin", {"barcode": "B1", "$set": {"status": "MARK"}})
    attack("heartbeat", {"interval_seconds": {"$gt": 0}, "firmware": "MARK"})
    attack("heartbeat", {"interval_seconds": 60, "$where": "MARK"})
    attack("inventory", {"barcodes": [{"$ne": "MARK"}]})
    attack("fault", {"fault_code": "JAM", "description": {"$where": "MARK"}})
    attack("heartbeat", {"interval_seconds": 60}, id={"$ne": "MARK"})
    attack("heartbeat", {"interval_seconds": 60}, sequence={"$gt": "MARK"})
    attack("heartbeat", {"interval_seconds": 60, "firmware": "MARK"}, **{"$where": "MARK"})

    reasons = {}

    def all_dead_lettered():
        for message in drain(settings.amqp_uri, "dlq.library", expect=0):
            body = message.body.decode() if isinstance(message.body, bytes) else str(message.body)
            for mark in marks:
                if mark in body:
                    reasons[mark] = message.headers["x-dead-letter-reason"]
        return set(reasons) == set(marks)
    wait_for(all_dead_lettered, timeout=20)
    for mark, reason in reasons.items():
        assert reason.startswith("invalid "), (marks[mark], reason)     # invalid envelope / data for ...: field
    assert not any(k["kiosk_id"] == kiosk_id and k["status"] == "online" for k in rpc.library.kiosk_status())
    for mark in marks:
        assert injections(driver.commands, mark) == [], marks[mark]


# ---- SIP2 fields -------------------------------------------------------------------------

def sip2_frame(body: str, seq: int) -> bytes:
    data = body.encode("cp850") + f"AY{seq}AZ".encode()
    return data + sip2_messages.checksum(data).encode() + b"\r"


def test_operator_text_in_sip2_fields_is_only_ever_a_string(driver, start_service, service_config, rpc):
    port = free_port()
    start_service(LibraryService, service_config("library", SIP2_PORT=port))
    rpc.library.upsert_locations(demo_data.LOCATIONS)
    login, password = f"sc-inj-{uuid.uuid4().hex[:6]}", sip2_accounts.new_password()
    rpc.library.sip2_add_account(login, "MAIN", sip2_accounts.hash_password(password), "cp850")
    mark = marker()
    op = '{"$ne": "%s"}' % mark
    where = '{"$where": "sleep(100) && \'%s\'"}' % mark     # no "|": it ends a SIP2 field
    now = sip2_messages.sip_date(clock.now(), timezone.utc)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        def send(body, seq):
            sock.sendall(sip2_frame(body, seq))
            answer = b""
            while not answer.endswith(b"\r"):
                chunk = sock.recv(4096)
                assert chunk, "the connection was closed"
                answer += chunk
            return answer.decode("cp850")

        assert send(f"9300CN{op}|CO{where}|CPMAIN|", 0)[:3] == "940"              # refused, connection kept
        assert send(f"9300CN{login}|CO{password}|CPMAIN|", 1)[:3] == "941"
        assert "|BLN|" in send(f"23001{now}AOinst|AA{op}|AC|AD{where}|", 2)       # no such patron
        assert send(f"17{now}AOinst|AB{where}|", 3)[2:4] == "01"                   # no such item
        assert send(f"11YN{now}{' ' * 18}AOinst|AA{op}|AB{op}|AD{op}|", 4)[2] == "0"   # checkout refused
        assert send(f"09N{now}{now}APMAIN|AOinst|AB{where}|", 5)[2] == "0"         # checkin refused
    assert injections(driver.commands, mark, text_allowed=True) == []


# ---- import files ------------------------------------------------------------------------

@pytest.fixture
def community(driver, start_service, rpc):
    start_service(CommunityService)
    rpc.community.upsert_places(demo_data.PLACES)
    return rpc


def test_operator_text_in_resident_csv_cells_is_refused_or_kept_as_text(community, driver, db, tmp_path):
    mark = marker()
    op = '"{""$gt"": ""%s""}"' % mark                        # the CSV cell {"$gt": "<mark>"}
    good = id_number()
    lines = ["id_number,name,phone,registered_committee,residence_committee,address",
             f"{op},甲,13800000001,C0101,C0101,龙华路1号",
             f"{id_number()},乙,{op},C0101,C0101,龙华路2号",
             f"{id_number()},丙,13800000003,{op},C0101,龙华路3号",
             f"{id_number()},丁,13800000004,C0101,{op},龙华路4号",
             f"{good},{op},13800000005,C0101,C0101,龙华路5号"]
    path = tmp_path / "residents.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    imported, rejected = community_import.import_residents(community, path)
    reasons = dict(rejected)
    assert imported == 0 and set(reasons) == {2, 3, 4, 5, 6}, rejected
    assert "id_number" in reasons[2] and "phone" in reasons[3] and "committee" in reasons[4] + reasons[5]
    assert "name" in reasons[6]                               # a name is letters, not an operator's text
    assert not any(mark in r for r in reasons.values())       # reasons name the field, not the value
    assert db("community").residents.find_one({"id_number": good}) is None
    assert injections(driver.commands, mark, text_allowed=True) == []


def test_operator_objects_in_a_places_file_are_refused_and_nothing_is_stored(community, driver, db, tmp_path):
    mark = marker()
    for places in ([{"code": {"$gt": mark}, "kind": "committee", "name": "x"}],
                   [{"code": "C9901", "kind": "committee", "name": "x", "$where": mark}],
                   [{"code": "C9902", "kind": {"$ne": mark}, "name": "x"}],
                   [{"code": "C9903", "kind": "committee", "name": "ok"},
                    {"code": "C9904", "kind": "committee", "name": {"$where": mark}}]):
        path = tmp_path / "places.json"
        path.write_text(json.dumps(places), encoding="utf-8")
        with pytest.raises(ImportFileError, match="nothing imported"):
            community_import.import_places(community, path)
    assert db("community").places.find_one({"_id": {"$in": ["C9901", "C9902", "C9903", "C9904"]}}) is None
    assert injections(driver.commands, mark) == []
