"""Trace context through HTTP, RPC and events (the outbox relay included), with the real broker
and store; spans caught by an in-memory exporter instead of an OTLP endpoint."""
import uuid

import pytest
import requests
from nameko.standalone.rpc import ClusterRpcProxy
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.service import GatewayService
from infra.local import demo_data
from services.common import tracing
from services.community import catalogue
from services.community.service import CommunityService
from services.library.service import LibraryService
from support import id_number, wait_for, web_address

EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def caught_spans():
    tracing.add_span_processor(SimpleSpanProcessor(EXPORTER))


def spans_of(trace_id: int):
    return [s for s in EXPORTER.get_finished_spans() if s.context.trace_id == trace_id]


def new_traceparent() -> tuple[str, int, int]:
    trace_id, span_id = uuid.uuid4().int >> 1, uuid.uuid4().int >> 65
    return f"00-{trace_id:032x}-{span_id:016x}-01", trace_id, span_id


def test_a_request_and_the_rpcs_it_makes_share_the_callers_trace(start_service, service_config, rpc):
    start_service(CommunityService)
    gateway = start_service(GatewayService, service_config("gateway", JWT_SECRET="trace-test-secret-of-at-least-32-bytes"))
    rpc.community.upsert_matters(catalogue.MATTERS)
    header, trace_id, caller_span = new_traceparent()
    r = requests.post(web_address(gateway) + "/graphql", json={"query": "{ matters { code } }"},
                      headers={"traceparent": header}, timeout=10)
    assert r.status_code == 200 and r.json()["data"]["matters"]
    spans = wait_for(lambda: (lambda found: found if len(found) >= 2 else None)(spans_of(trace_id)))
    http_span = next(s for s in spans if s.name == "HTTP POST /graphql")
    rpc_span = next(s for s in spans if s.name == "rpc community.list_matters")
    assert http_span.parent.span_id == caller_span
    assert rpc_span.parent.span_id == http_span.context.span_id
    # the correlation id the gateway made for the request went along with the call too
    assert rpc_span.attributes["suite.correlation_id"] == http_span.attributes["suite.correlation_id"] != ""
    assert http_span.resource.attributes["service.name"] == "gateway"
    assert rpc_span.resource.attributes["service.name"] == "community"


def test_an_event_sent_through_the_outbox_continues_the_trace_that_caused_it(start_service, settings, rpc):
    start_service(CommunityService)
    start_service(LibraryService)
    rpc.community.upsert_places(demo_data.PLACES)
    header, trace_id, _ = new_traceparent()
    with ClusterRpcProxy({"AMQP_URI": settings.amqp_uri}, context_data={"traceparent": header}, timeout=10) as traced:
        traced.community.register_resident({
            "id_number": id_number(), "name": "赵六", "registered_committee": "C0101",
            "residence_committee": "C0201", "address": "枫林路1号"})

    def both():
        found = spans_of(trace_id)
        names = {s.name for s in found}
        return found if {"rpc community.register_resident", "event cn.community.resident.registered.v1"} <= names \
            else None
    spans = wait_for(both)
    registered = next(s for s in spans if s.name == "rpc community.register_resident")
    consumed = next(s for s in spans if s.name == "event cn.community.resident.registered.v1")
    assert consumed.parent.span_id == registered.context.span_id
    assert consumed.resource.attributes["service.name"] == "library"


def test_a_malformed_traceparent_starts_a_new_trace_and_harms_nothing(start_service, service_config):
    gateway = start_service(GatewayService, service_config("gateway", JWT_SECRET="trace-test-secret-of-at-least-32-bytes"))
    for bad in ("00-zz-yy-01", "00-" + "0" * 32 + "-" + "1" * 16 + "-01", "x" * 5000):
        r = requests.get(web_address(gateway) + "/health", headers={"traceparent": bad}, timeout=10)
        assert r.status_code == 200
    assert tracing.parse("00-" + "a" * 32 + "-" + "b" * 16 + "-01").trace_id == int("a" * 32, 16)
    assert tracing.parse({"$ne": None}) is None and tracing.parse("00-" + "a" * 32 + "-" + "0" * 16 + "-01") is None
