"""The first thread through everything: a resident registered in community becomes a
library patron, through community's outbox, the broker and library's inbox."""
import json

import pytest
from kombu import Connection
from nameko.exceptions import RemoteError

from services.community.service import CommunityService
from services.library.service import LibraryService
from support import id_number, wait_for

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
    envelope = {"specversion": "1.0", "id": event_id, "source": "community",
                "type": "cn.community.resident.registered.v1", "time": "2026-01-01T00:00:00Z",
                "data": {"resident_id": resident["resident_id"], "name": "改名", "registered_committee": "C0101",
                         "residence_committee": "C0101", "registered_on": "2026-01-01"}}
    with Connection(settings.amqp_uri) as conn:
        conn.Producer().publish(json.dumps(envelope), exchange="community.events",
                                routing_key=envelope["type"], content_type="application/json")
    # A marker event behind it proves the duplicate was consumed before we look.
    marker = register(suite)
    wait_for(lambda: db("library").patrons.find_one({"_id": marker["resident_id"]}))
    again = db("library").patrons.find_one({"_id": resident["resident_id"]})
    assert again["inbox"] == [event_id]
    assert again["name"] == doc["name"] and again["home_committee"] == "C0102"


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
