"""GET /metrics on the services and the gateway: what they count, read as Prometheus would
(prometheus_client's own text parser), against the real broker and store."""
import json
import time
import uuid

import pytest
import requests
from kombu import Connection
from nameko.exceptions import RemoteError
from prometheus_client.parser import text_string_to_metric_families

from contracts.events.community import ResidentRegisteredV1
from gateway.service import GatewayService
from services.common import metrics, outbox
from services.common.inbox import apply_once, inbox_handler
from services.common.metrics import MetricsEntrypoints
from services.common.outbox import OutboxRelay
from services.common.storage import Store, due_key
from services.community.service import CommunityService
from services.library.service import LibraryService
from support import drain, id_number, load_demo_district, wait_for, web_address

REGISTERED = ResidentRegisteredV1.TYPE


def scrape(container) -> dict:
    """{(sample name, ((label, value), ...)): value} of one scrape, parsed as Prometheus would."""
    response = requests.get(web_address(container) + "/metrics", timeout=5)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples: dict, name: str, **labels) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def delta(before: dict, after: dict, name: str, **labels) -> float:
    return (value(after, name, **labels) or 0) - (value(before, name, **labels) or 0)


@pytest.fixture
def own_prefix(settings, db):
    """A database prefix of the test's own, so that gauges read exactly what it stored
    (under the run's prefix: dropped with the run's databases)."""
    prefix = f"{settings.db_prefix}_m{uuid.uuid4().hex[:6]}"
    client = db("kit").client
    return prefix, lambda service: client[f"{prefix}_{service}"]


# ---- RPC ------------------------------------------------------------------------------

def test_rpc_calls_are_counted_by_method_and_outcome_and_timed(start_service, rpc):
    library = start_service(LibraryService)
    before = scrape(library)
    rpc.library.get_patrons([])
    rpc.library.get_patrons([])
    with pytest.raises(RemoteError):
        rpc.library.get_patron(f"nobody-{uuid.uuid4().hex[:6]}")
    with pytest.raises(RemoteError):
        rpc.library.get_patrons("not a list")
    after = scrape(library)

    calls = "suite_rpc_calls_total"
    assert delta(before, after, calls, service="library", method="get_patrons", outcome="ok") == 2
    assert delta(before, after, calls, service="library", method="get_patrons", outcome="bad_user_input") == 1
    assert delta(before, after, calls, service="library", method="get_patron", outcome="not_found") == 1
    assert delta(before, after, calls, service="library", method="get_patron", outcome="ok") == 0
    timed = "suite_rpc_duration_seconds"
    assert delta(before, after, timed + "_count", service="library", method="get_patrons") == 3
    assert delta(before, after, timed + "_sum", service="library", method="get_patrons") > 0
    assert delta(before, after, timed + "_bucket", service="library", method="get_patrons", le="+Inf") == 3
    assert value(after, "process_cpu_seconds_total") is not None  # the process collector is there too


def test_an_overview_with_a_part_that_failed_its_check_is_counted_partial(start_service, rpc):
    community = start_service(CommunityService)
    before = scrape(community)
    me = {"id": f"r-{uuid.uuid4().hex[:6]}", "role": "resident"}
    whole = rpc.community.resident_overview(me, me["id"], {"notices": {"limit": 5}})
    all_own = rpc.community.resident_overview(me, me["id"], {"notices": {"limit": 5}, "access_log": {"limit": 5},
                                                                  "cases": {}})
    staff_reading = rpc.community.resident_overview({"id": "clerk-1", "role": "staff", "committee": "C0101"},
                                                    me["id"], {"access_log": {"limit": 5}})
    after = scrape(community)
    assert "errors" not in whole and "errors" not in all_own
    assert staff_reading["errors"]["access_log"]["exc_type"] == "Forbidden"
    calls = "suite_rpc_calls_total"
    assert delta(before, after, calls, service="community", method="resident_overview", outcome="ok") == 2
    assert delta(before, after, calls, service="community", method="resident_overview", outcome="partial") == 1


# ---- events ---------------------------------------------------------------------------

class MetricsProbe(MetricsEntrypoints):
    """A consumer of its own (its queue is made when it starts: nothing from earlier tests)."""
    name = "metricsprobe"
    db = Store()

    @inbox_handler(REGISTERED)
    def on_registered(self, event):
        resident_id = event["data"]["resident_id"]
        if resident_id.startswith("poison"):
            raise RuntimeError("this one can never be applied")
        apply_once(self.db["probe_patrons"], {"_id": resident_id}, {"$set": {"name": event["data"]["name"]}},
                   event["id"], upsert=True)


def registered(resident_id: str) -> dict:
    return outbox.event(REGISTERED, {"resident_id": resident_id, "name": "测试", "residence_committee": "C0101",
                                     "registered_on": "2026-11-25"})


def publish(amqp_uri: str, body) -> None:
    with Connection(amqp_uri) as conn:
        conn.Producer().publish(json.dumps(body), exchange="community.events", routing_key=REGISTERED,
                                content_type="application/json", content_encoding="utf-8")


@pytest.fixture
def probe(start_service, service_config):
    return start_service(MetricsProbe, service_config("metricsprobe", EVENT_MAX_RETRIES=2, EVENT_RETRY_BACKOFF=0.01))


def test_event_handled_twice_is_one_applied_and_one_duplicate(probe, settings, db):
    before = scrape(probe)
    ev = registered(f"r-{uuid.uuid4().hex[:8]}")
    publish(settings.amqp_uri, ev)
    publish(settings.amqp_uri, ev)  # redelivered: the inbox absorbs it
    events = "suite_events_total"
    labels = {"service": "metricsprobe", "event_type": REGISTERED}
    after = wait_for(lambda: (s := scrape(probe)) and delta(before, s, events, **labels, outcome="duplicate") == 1
                     and s)
    assert delta(before, after, events, **labels, outcome="applied") == 1
    assert delta(before, after, events, **labels, outcome="retried") == 0
    assert db("metricsprobe").probe_patrons.find_one({"_id": ev["data"]["resident_id"]})["inbox"] == [ev["id"]]


def test_poison_and_malformed_events_are_counted_as_dead_lettered(probe, settings):
    before = scrape(probe)
    publish(settings.amqp_uri, registered(f"poison-{uuid.uuid4().hex[:6]}"))
    publish(settings.amqp_uri, {"hello": "world"})  # not an event at all: counted under the queue's type
    assert len(drain(settings.amqp_uri, "dlq.metricsprobe", expect=2)) == 2
    events = "suite_events_total"
    labels = {"service": "metricsprobe", "event_type": REGISTERED}
    after = wait_for(lambda: (s := scrape(probe)) and delta(before, s, events, **labels, outcome="dead_lettered") == 2
                     and s)
    assert delta(before, after, events, **labels, outcome="retried") == 2  # EVENT_MAX_RETRIES, then the DLQ
    assert delta(before, after, events, **labels, outcome="applied") == 0


# ---- gauges read from the store --------------------------------------------------------

def test_outbox_backlog_and_kiosks_online_are_read_from_the_store(start_service, service_config, own_prefix):
    prefix, own_db = own_prefix
    library = start_service(LibraryService, service_config("library", DB_PREFIX=prefix))
    relay = next(d for d in library.dependencies if isinstance(d, OutboxRelay))
    relay.stop()  # as when the broker is away: events wait in the outbox
    empty = scrape(library)
    assert value(empty, "suite_outbox_backlog", service="library") == 0
    assert value(empty, "suite_library_kiosks_online", service="library") == 0

    db = own_db("library")
    db.kiosks.insert_many([
        {"_id": "k1", "status": "online", **outbox.pending_fields([registered("r-k1")])},
        {"_id": "k2", "status": "online"},
        {"_id": "k3", "status": "offline"}])
    db.patrons.insert_one({"_id": "p1", **outbox.pending_fields([registered("r-p1"), registered("r-p2")])})
    db.patrons.insert_one({"_id": "p2", "name": "no events"})
    samples = scrape(library)
    assert value(samples, "suite_outbox_backlog", service="library") == 3
    assert value(samples, "suite_library_kiosks_online", service="library") == 2

    relay.start()  # the broker is back: the relay publishes and the backlog drains
    wait_for(lambda: value(scrape(library), "suite_outbox_backlog", service="library") == 0)


def test_cases_near_and_past_deadline_follow_the_deadline_timer(start_service, service_config, own_prefix, rpc):
    prefix, own_db = own_prefix
    community = start_service(CommunityService, service_config("community", DB_PREFIX=prefix))
    load_demo_district(rpc)
    resident = rpc.community.register_resident({
        "id_number": id_number(), "name": "王芳", "phone": "13900139000", "registered_committee": "C0101",
        "residence_committee": "C0201", "address": "枫林路88弄3号"})
    clerk = {"id": "clerk-2", "role": "staff", "committee": "C0201"}
    case = rpc.community.submit_case(clerk, {"resident_id": resident["resident_id"],
                                             "matter_code": "RESIDENCE_REGISTRATION"})
    rpc.community.act_on_case(clerk, {"case_id": case["case_id"], "action": "accept"})
    # as if accepted on 30 Sep 2026: five working days run to 13 Oct
    own_db("community").cases.update_one({"_id": case["case_id"]},
                                         {"$set": {"deadline": "2026-10-13", "watch": due_key("2026-10-13")}})

    def gauges():
        s = scrape(community)
        return (value(s, "suite_community_cases_near_deadline", service="community"),
                value(s, "suite_community_cases_past_deadline", service="community"))

    assert gauges() == (0, 0)
    assert rpc.community.check_deadlines_now("2026-10-12") == 1
    assert gauges() == (1, 0)
    assert rpc.community.check_deadlines_now("2026-10-14") == 1
    assert gauges() == (0, 1)
    rpc.community.act_on_case(clerk, {"case_id": case["case_id"], "action": "complete"})
    assert gauges() == (0, 0)  # a closed case is no longer anyone's worry


def test_store_down_leaves_its_gauges_out_and_counts_the_errors_within_the_scrape_budget(
        own_store, start_service, service_config, monkeypatch):
    """The gauges wait for the store together, each at most SCRAPE_TIMEOUT: a scrape with the
    store down takes about one budget, not one per gauge, nor the store client's own timeout.
    The budget is raised here so that a busy machine's overhead stays small beside it."""
    budget = 2.0
    monkeypatch.setattr(metrics, "SCRAPE_TIMEOUT", budget)
    proc, uri = own_store
    library = start_service(LibraryService, service_config("library", MONGO_URI=uri, STORE_TIMEOUT_MS=10_000))
    up = scrape(library)
    assert value(up, "suite_outbox_backlog", service="library") == 0

    proc.kill()
    proc.wait()
    started = time.monotonic()
    down = scrape(library)
    elapsed = time.monotonic() - started
    # the library has two store gauges: one after the other would take two budgets or more
    assert elapsed < 2 * budget, f"/metrics took {elapsed:.2f}s with the store down (budget {budget}s)"
    assert value(down, "suite_outbox_backlog", service="library") is None
    assert value(down, "suite_library_kiosks_online", service="library") is None
    errors = "suite_metrics_scrape_errors_total"
    assert delta(up, down, errors, service="library", gauge="suite_outbox_backlog") == 1
    assert delta(up, down, errors, service="library", gauge="suite_library_kiosks_online") == 1
    assert value(down, "process_cpu_seconds_total") is not None  # what needs no store is still there


# ---- gateway ----------------------------------------------------------------------------

def test_gateway_counts_graphql_requests_by_outcome_and_times_them(start_service, service_config):
    gateway = start_service(GatewayService, service_config(
        "gateway", JWT_SECRET="metrics-test-secret-of-at-least-32-bytes", RPC_TIMEOUT=1.0))
    url = web_address(gateway) + "/graphql"
    before = scrape(gateway)
    assert requests.post(url, json={"query": "{ __typename }"}, timeout=10).status_code == 200
    assert requests.post(url, json={"query": "{ nothing }"}, timeout=10).status_code == 400
    assert requests.post(url, json={"query": "{ __typename }"}, timeout=10,
                         headers={"Authorization": "Bearer not.a.token"}).status_code == 401
    assert requests.get(url, timeout=10).status_code == 200  # the GraphiQL page: not a GraphQL request
    after = scrape(gateway)

    requests_total = "suite_graphql_requests_total"
    assert delta(before, after, requests_total, service="gateway", outcome="ok") == 1
    assert delta(before, after, requests_total, service="gateway", outcome="refused") == 1
    assert delta(before, after, requests_total, service="gateway", outcome="unauthenticated") == 1
    assert delta(before, after, "suite_graphql_duration_seconds_count", service="gateway") == 3
    assert value(after, "suite_outbox_backlog", service="gateway") is None  # no store, no store gauges
