"""A resident's library card through the gateway and the real services: setting the PIN
self-check machines ask for, and the notice a recall of their loan sends them."""
import uuid

from test_gateway_graphql import codes, gateway, wang  # noqa: F401 (fixtures)

from infra.local import demo_data
from services.common import passwords
from support import id_number, wait_for

SET_PIN = "mutation($pin: String!) { setLibraryPin(pin: $pin) { cardNumber hasPin } }"


def test_a_resident_sets_their_own_pin(gateway, wang, db):  # noqa: F811
    token = gateway.token("resident", wang["resident_id"])
    assert gateway("{ me { libraryCard { hasPin } } }", token)["data"]["me"]["libraryCard"]["hasPin"] is False
    for easy in ("1234", "0000", "123456", "12345a", "123"):
        answer = gateway(SET_PIN, token, {"pin": easy})
        assert codes(answer) == ["BAD_USER_INPUT"], easy
    assert "too easy to guess" in gateway(SET_PIN, token, {"pin": "1234"})["errors"][0]["message"]
    assert not db("library").patrons.find_one({"_id": wang["resident_id"]}).get("pin_hash")
    card = gateway(SET_PIN, token, {"pin": "5820"})["data"]["setLibraryPin"]
    assert card["hasPin"] is True and card["cardNumber"].startswith("LC")
    stored = db("library").patrons.find_one({"_id": wang["resident_id"]})
    assert passwords.matches("5820", stored["pin_hash"]) and "5820" not in str(stored)
    assert gateway("{ me { libraryCard { hasPin } } }", token)["data"]["me"]["libraryCard"]["hasPin"] is True
    assert codes(gateway(SET_PIN, None, {"pin": "5820"})) == ["UNAUTHENTICATED"]
    staff = gateway.token("staff", "clerk-fl", committee="C0201")
    assert codes(gateway(SET_PIN, staff, {"pin": "5820"})) == ["FORBIDDEN"]     # their own card only


def test_a_recalled_loan_becomes_a_notice_for_the_borrower(gateway, wang, rpc, db):  # noqa: F811
    kind = "t-" + uuid.uuid4().hex[:8]     # a patron type of this test's own whose rule recalls
    rpc.library.put_loan_rules({kind: {"patron_type": kind, "recall_days": 7}})
    rpc.library.set_patron_type(wang["resident_id"], kind, "clerk-fl")
    record_id, barcode = "gw-r-" + uuid.uuid4().hex[:6], "GWR" + uuid.uuid4().hex[:6]
    rpc.library.upsert_locations(demo_data.LOCATIONS)
    rpc.library.import_catalogue([{"record_id": record_id, "title": "球状闪电", "authors": ["刘慈欣"],
                                   "copies": [{"barcode": barcode, "home_location": "MAIN"}]}])
    rpc.library.checkout(barcode, wang["resident_id"], "MAIN")
    other = rpc.community.register_resident({"id_number": id_number(), "name": "赵磊", "residence_committee": "C0101",
                                             "address": "龙华路9号"})
    wait_for(lambda: rpc.library.get_patrons([other["resident_id"]]))
    held = gateway('mutation { placeHold(titleId: "%s", pickup: "MAIN") { status } }' % record_id,
                   gateway.token("resident", other["resident_id"]))
    assert held["data"]["placeHold"]["status"] == "waiting"
    token = gateway.token("resident", wang["resident_id"])

    def recall_notice():
        notices = gateway("{ me { notices { kind title body } } }", token)["data"]["me"]["notices"]
        return next((n for n in notices if n["kind"] == "loan_recalled"), None)
    notice = wait_for(recall_notice)
    due = gateway("{ me { loans { barcode due } } }", token)["data"]["me"]["loans"]
    assert notice["title"] == "图书召回通知"
    assert "王芳" in notice["body"] and "球状闪电" in notice["body"] and barcode in notice["body"]
    assert next(loan["due"] for loan in due if loan["barcode"] == barcode) in notice["body"]
