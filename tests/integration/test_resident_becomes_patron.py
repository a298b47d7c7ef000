"""The first thread through everything: a resident registered in community becomes a
library patron, through community's outbox, the broker and library's inbox."""
import json

import pytest
from kombu import Connection
from nameko.exceptions import RemoteError

from services.common import clock
from services.community.service import CommunityService
from services.library.service import LibraryService
from support import id_number, wait_for

TODAY = clock.today().isoformat()   # the district's date, as the service dates a move
PLACES = [
    {"code": "SD01", "kind": "subdistrict", "name": "示例街道"},
    {"code": "C0101", "kind": "committee", "name": "示例第一居委会", "parent": "SD01"},
    {"code": "C0102", "kind": "committee", "name": "示例第二居委会", "parent": "SD01"},
]


@pytest.fixture
def suite(start_service, rpc):
    start_service(CommunityService)
    start_service(LibraryService)
    rpc.community.upsert_places(PLACES)
    return rpc


def register(rpc, **overrides):
    request = {"id_number": id_number(), "name": "张三", "phone": "13800138000",
               "registered_committee": "C0101", "residence_committee": "C0102", "address": "示例路1号"}
    request.update(overrides)
    return rpc.community.register_resident(request)


def publish_registration(settings, event_id, resident_id):
    """A registered event for ``resident_id`` (renamed, living elsewhere) sent straight to the broker."""
    envelope = {"specversion": "1.0", "id": event_id, "source": "community",
                "type": "cn.community.resident.registered.v1", "time": "2026-01-01T00:00:00Z",
                "data": {"resident_id": resident_id, "name": "改名", "registered_committee": "C0101",
                         "residence_committee": "C0101", "registered_on": "2026-01-01"}}
    with Connection(settings.amqp_uri) as conn:
        conn.Producer().publish(json.dumps(envelope), exchange="community.events",
                                routing_key=envelope["type"], content_type="application/json")


def test_registered_resident_becomes_patron(suite, db):
    resident = register(suite, name="李四")
    assert resident["id_number_masked"][:3] == "310" and "*" * 11 in resident["id_number_masked"]

    def patron():
        return db("library").patrons.find_one({"_id": resident["resident_id"]})

    doc = wait_for(patron)
    assert doc["name"] == "李四" and doc["home_committee"] == "C0102"
    assert len(doc["inbox"]) == 1
    assert suite.library.get_patron(resident["resident_id"])["card_number"] == doc["card_number"]
    # the outbox was relayed and cleared
    wait_for(lambda: db("community").residents.find_one({"_id": resident["resident_id"]})["outbox_pending"] == 0)


def test_same_event_twice_is_applied_once(suite, db, settings):
    resident = register(suite)
    doc = wait_for(lambda: db("library").patrons.find_one({"_id": resident["resident_id"]}))
    event_id = doc["inbox"][0]

    # Publish the very same envelope again, as a redelivery or a replay would.
    publish_registration(settings, event_id, resident["resident_id"])
    # A marker event behind it proves the duplicate was consumed before we look.
    marker = register(suite)
    wait_for(lambda: db("library").patrons.find_one({"_id": marker["resident_id"]}))
    again = db("library").patrons.find_one({"_id": resident["resident_id"]})
    assert again["inbox"] == [event_id]
    assert again["name"] == doc["name"] and again["home_committee"] == "C0102"


def test_another_registration_event_for_a_patron_keeps_their_card(suite, db, settings):
    resident = register(suite)
    doc = wait_for(lambda: db("library").patrons.find_one({"_id": resident["resident_id"]}))
    publish_registration(settings, "re-registered-" + resident["resident_id"], resident["resident_id"])
    again = wait_for(lambda: (lambda d: d if len(d["inbox"]) == 2 else None)(
        db("library").patrons.find_one({"_id": resident["resident_id"]})))
    assert again["card_number"] == doc["card_number"] and again["name"] == doc["name"]
    assert again["inbox"] == [doc["inbox"][0], "re-registered-" + resident["resident_id"]]


def test_bad_registration_changes_nothing(suite, db):
    before = list(db("community").residents.find({}, {"_id": 1}))
    with pytest.raises(RemoteError) as err:
        register(suite, id_number="310101198001010000")  # wrong checksum
    assert err.value.exc_type == "BadInput" and "ID number" in err.value.value
    with pytest.raises(RemoteError) as err:
        register(suite, residence_committee="NOPE")
    assert err.value.exc_type == "BadInput" and "NOPE" in err.value.value
    with pytest.raises(RemoteError) as err:
        register(suite, name={"$gt": ""})
    assert err.value.exc_type == "BadInput"
    assert list(db("community").residents.find({}, {"_id": 1})) == before


def test_registering_twice_is_a_conflict(suite):
    number = id_number()
    register(suite, id_number=number)
    with pytest.raises(RemoteError) as err:
        register(suite, id_number=number)
    assert err.value.exc_type == "Conflict"


def test_a_patrons_home_committee_follows_a_move_and_an_older_move_arriving_late_changes_nothing(suite, db, settings):
    resident = register(suite)
    rid = resident["resident_id"]
    first = wait_for(lambda: db("library").patrons.find_one({"_id": rid}))
    assert patrons_card_is_valid(first["card_number"])
    clerk = {"id": "clerk-1", "role": "staff", "committee": "C0102"}
    suite.community.change_residence(clerk, {"resident_id": rid, "residence_committee": "C0101",
                                             "address": "示例路2号", "moved_on": TODAY})
    moved = wait_for(lambda: (lambda d: d if d["home_committee"] == "C0101" else None)(
        db("library").patrons.find_one({"_id": rid})))
    assert moved["home_since"] == TODAY and moved["card_number"] == first["card_number"]
    # a move dated before the one recorded (out of order) is absorbed without effect
    late = {"specversion": "1.0", "id": "late-move-" + rid, "source": "community",
            "type": "cn.community.resident.residence_changed.v1", "time": "2026-11-02T00:00:00Z",
            "data": {"resident_id": rid, "from_committee": "C0102", "to_committee": "C0102",
                     "moved_on": "2020-10-01"}}
    with Connection(settings.amqp_uri) as conn:
        conn.Producer().publish(json.dumps(late), exchange="community.events", routing_key=late["type"],
                                content_type="application/json")
    wait_for(lambda: "late-move-" + rid in db("library").patrons.find_one({"_id": rid})["inbox"])
    assert db("library").patrons.find_one({"_id": rid})["home_committee"] == "C0101"


def patrons_card_is_valid(card):
    from services.library import patrons
    return patrons.valid_card_number(card)
