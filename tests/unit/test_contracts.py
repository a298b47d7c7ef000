"""The message contracts: the generated AsyncAPI document and the CloudEvents envelope."""
from __future__ import annotations

import json
from datetime import date

import pytest
from pydantic import ValidationError

from contracts import CloudEvent, new_event
from contracts.asyncapi import DOCUMENT_PATH, build_document, main, render
from contracts.registry import EVENTS, RPCS, UnknownEventType
from contracts.rpc.community import RegisterResidentV1

REGISTERED = "cn.community.resident.registered.v1"


def resident_data(**overrides):
    data = {
        "resident_id": "r-0001",
        "name": "张伟·阿卜杜拉",
        "registered_committee": "310101001",
        "residence_committee": "310101002",
        "registered_on": date(2024, 3, 1),
    }
    return {**data, **overrides}


def envelope(**overrides):
    event = {"specversion": "1.0", "id": "e-1", "source": "community", "type": REGISTERED,
             "time": "2024-03-01T08:00:00+08:00", "data": {}}
    return {**event, **overrides}


def registration(**overrides):
    request = {"id_number": "11010519491231002X", "name": "李娜", "phone": "13800138000",
               "registered_committee": "310101001", "residence_committee": "310101002",
               "address": "黄浦区南京东路 1 号"}
    return {**request, **overrides}


# --- the AsyncAPI document -------------------------------------------------------

@pytest.fixture(scope="module")
def document():
    return build_document()


def test_checked_in_document_is_current(document):
    # Fails when a model is added or changed without running `make contracts`.
    assert DOCUMENT_PATH.read_text(encoding="utf-8") == render(document)
    assert json.loads(DOCUMENT_PATH.read_text(encoding="utf-8")) == document


def test_document_is_deterministic():
    assert render(build_document()) == render(build_document())


def test_document_header(document):
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] == "Smart Community Suite messages"
    server, = document["servers"].values()
    assert (server["host"], server["protocol"]) == ("127.0.0.1:5672", "amqp")


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_every_event_has_channel_operation_and_message(document, event_type):
    service, model = EVENTS[event_type]
    channel = document["channels"][event_type]
    # services publish with the event type as routing key; kiosks with kiosk.<their id>.<kind>;
    # a case handed on to another district goes to interdistrict.out keyed by that district
    assert channel["address"] == getattr(model, "ROUTING_KEY", event_type)
    exchange = channel["bindings"]["amqp"]["exchange"]
    expected = ("interdistrict.out", "direct") if service == "interdistrict" else (f"{service}.events", "topic")
    assert exchange == {**exchange, "name": expected[0], "type": expected[1], "durable": True}

    message = document["components"]["messages"][event_type]
    envelope_ref, override = message["payload"]["allOf"]
    assert envelope_ref == {"$ref": "#/components/schemas/CloudEvent"}
    assert override["properties"]["type"] == {"const": event_type}
    assert override["properties"]["data"] == {"$ref": f"#/components/schemas/{model.__name__}"}

    sends = [op for op in document["operations"].values()
             if op["action"] == "send" and op["channel"] == {"$ref": f"#/channels/{event_type}"}]
    assert len(sends) == 1 and {"name": service} in sends[0]["tags"]


@pytest.mark.parametrize("name", sorted(RPCS))
def test_every_rpc_payload_has_a_message(document, name):
    message = document["components"]["messages"][f"rpc.{name}"]
    assert message["payload"] == {"$ref": f"#/components/schemas/{RPCS[name].__name__}"}


def test_every_ref_resolves(document):
    def refs(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    found = list(refs(document))
    assert found
    for ref in found:
        assert ref.startswith("#/"), ref
        node = document
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]  # KeyError = dangling


def test_check_flags_a_stale_document(tmp_path, capsys):
    path = tmp_path / "asyncapi.json"
    assert main(["--path", str(path)]) == 0
    assert main(["--check", "--path", str(path)]) == 0

    stale = json.loads(path.read_text(encoding="utf-8"))
    del stale["components"]["schemas"]["ResidentRegisteredV1"]
    path.write_text(render(stale), encoding="utf-8")
    capsys.readouterr()
    assert main(["--check", "--path", str(path)]) == 1
    err = capsys.readouterr().err
    assert "is out of date; run `make contracts`" in err
    assert "components.schemas.ResidentRegisteredV1 added" in err


def test_check_flags_a_missing_document(tmp_path, capsys):
    assert main(["--check", "--path", str(tmp_path / "nope.json")]) == 1
    assert "missing" in capsys.readouterr().err


# --- the envelope ---------------------------------------------------------------

def test_new_event_builds_a_valid_envelope_and_keeps_chinese_text():
    event = new_event(REGISTERED, "community", resident_data(), subject="r-0001",
                      correlationid="c-42")
    wire = json.loads(json.dumps(event, ensure_ascii=False))
    parsed = CloudEvent.model_validate(wire)
    assert parsed.type == REGISTERED and parsed.specversion == "1.0"
    assert parsed.id and parsed.time.tzinfo is not None
    assert parsed.data["name"] == "张伟·阿卜杜拉"
    assert parsed.data["registered_on"] == "2024-03-01"
    assert parsed.model_extra == {"correlationid": "c-42"}
    assert EVENTS[REGISTERED][1].model_validate(parsed.data).name == "张伟·阿卜杜拉"


def test_new_event_ids_are_unique():
    assert new_event(REGISTERED, "community", resident_data())["id"] != \
        new_event(REGISTERED, "community", resident_data())["id"]


@pytest.mark.parametrize("bad", [
    resident_data(name=""),
    resident_data(unexpected="x"),
    {k: v for k, v in resident_data().items() if k != "resident_id"},
])
def test_new_event_rejects_data_that_breaks_the_contract(bad):
    with pytest.raises(ValidationError):
        new_event(REGISTERED, "community", bad)


def test_new_event_rejects_unknown_event_types():
    with pytest.raises(UnknownEventType):
        new_event("cn.community.resident.vanished.v1", "community", resident_data())


def test_envelope_rejects_a_missing_id():
    event = envelope()
    del event["id"]
    with pytest.raises(ValidationError):
        CloudEvent.model_validate(event)


def test_envelope_rejects_a_wrong_specversion():
    with pytest.raises(ValidationError):
        CloudEvent.model_validate(envelope(specversion="0.3"))


@pytest.mark.parametrize("name", ["Bad-Name", "correlationId", "trace_id"])
def test_envelope_rejects_bad_extension_names(name):
    with pytest.raises(ValidationError):
        CloudEvent.model_validate(envelope(**{name: "x"}))


def test_envelope_accepts_a_lowercase_extension():
    event = CloudEvent.model_validate(envelope(correlationid="c-42", sequence=7))
    assert event.model_extra == {"correlationid": "c-42", "sequence": 7}


# --- RPC payloads ---------------------------------------------------------------

def test_register_resident_accepts_a_valid_request():
    request = RegisterResidentV1.model_validate(registration(name="  李娜  "))
    assert request.name == "李娜"  # str_strip_whitespace


@pytest.mark.parametrize("extra", [{"nickname": "娜娜"}, {"$where": "1 == 1"},
                                   {"$set": {"name": "x"}}])
def test_register_resident_rejects_extra_and_operator_keys(extra):
    with pytest.raises(ValidationError) as info:
        RegisterResidentV1.model_validate(registration(**extra))
    assert [e["type"] for e in info.value.errors()] == ["extra_forbidden"]


def test_a_build_that_fails_leaves_the_document_as_it_was(tmp_path, monkeypatch):
    import contracts.asyncapi as asyncapi

    path = tmp_path / "asyncapi.json"
    path.write_text("{}\n", encoding="utf-8")

    def broken():
        raise ValueError("two models named alike")
    monkeypatch.setattr(asyncapi, "build_document", broken)
    with pytest.raises(ValueError):
        main(["--path", str(path)])
    assert path.read_text(encoding="utf-8") == "{}\n"


def test_a_course_with_a_lesson_id_twice_or_a_tv_time_that_never_comes_is_refused():
    import copy

    from contracts.rpc.elearning import CourseV1
    course = {"course_id": "c1", "title": "智能手机入门", "provider": "区社区学院", "units": [{"title": "一", "lessons": [
        {"id": "l1", "title": "开机", "renditions": {"tv": {"channel": "区有线4频道", "starts_at": "2026-12-01T19:00",
                                                          "minutes": 30}}}]}]}
    assert CourseV1.model_validate(course).units[0].lessons[0].renditions.tv.starts_at == "2026-12-01T19:00"
    twice = copy.deepcopy(course)
    twice["units"].append({"title": "二", "lessons": [{"id": "l1", "title": "再开机"}]})   # completion counts ids
    with pytest.raises(ValidationError, match="unique"):
        CourseV1.model_validate(twice)
    for never in ("2026-99-99T99:99 junk", "2026-02-30T19:00", "2026-12-01T25:00", "2026-12-01T19:00 晚间"):
        bad = copy.deepcopy(course)
        bad["units"][0]["lessons"][0]["renditions"]["tv"]["starts_at"] = never
        with pytest.raises(ValidationError):
            CourseV1.model_validate(bad)


def test_a_location_closed_on_a_day_that_never_comes_is_refused():
    from contracts.rpc.library import LocationV1
    kiosk = {"code": "K-1", "kind": "kiosk", "name": "自助图书馆"}
    assert LocationV1.model_validate({**kiosk, "closed_weekdays": [0, 6], "closed_dates": ["2026-10-01"]}).closed_weekdays == [0, 6]
    for bad in ({"closed_weekdays": [7]}, {"closed_weekdays": [-1]}, {"closed_weekdays": ["1"]},
                {"closed_dates": ["2026/05/01"]}, {"closed_dates": ["May 1"]}, {"closed_dates": ["2026-02-30"]}):
        with pytest.raises(ValidationError):   # such closures never matched a day: loans fell due on them
            LocationV1.model_validate({**kiosk, **bad})
