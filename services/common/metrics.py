"""Prometheus metrics: ``GET /metrics`` on every service's HTTP port and on the gateway.

One registry per process (a nameko service runs in one process on eventlet): counters
and histograms that the entrypoints update as they work, in prometheus_client's own
objects. Figures that live in the store (the outbox backlog, a service's own ``Tally``
gauges) are computed when scraped, by one aggregate each on an indexed field, all at
once and each bounded like the health check, so that a store that is down costs a
scrape under a second: what could not be computed is left out and counted in
``suite_metrics_scrape_errors_total``, never a 500.
"""
from __future__ import annotations

import json
import logging
import time
import weakref
from dataclasses import dataclass
from typing import Mapping

import eventlet
import pymongo
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from nameko.web.handlers import HttpRequestHandler, http
from prometheus_client import (CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, Counter, GCCollector, Histogram,
                               PlatformCollector, ProcessCollector, disable_created_metrics, generate_latest)
from prometheus_client.core import GaugeMetricFamily
from werkzeug.wrappers import Response

from services.common import metrics_store, overview
from services.common.errors import SuiteError
from services.common.outbox import OutboxRelay
from services.common.storage import Store

log = logging.getLogger(__name__)

SCRAPE_TIMEOUT = 0.8  # the health check's budget (health.CHECK_TIMEOUT): answer within a second

disable_created_metrics()  # no ``*_created`` series beside every counter: the process start time says it
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

RPC_CALLS = Counter("suite_rpc_calls", "RPC calls answered, by method and outcome (ok, partial: an overview with "
                    "a part that failed, or the error code)",
                    ["service", "method", "outcome"], registry=REGISTRY)
RPC_SECONDS = Histogram("suite_rpc_duration_seconds", "Time to answer an RPC call, reply included",
                        ["service", "method"], registry=REGISTRY)
EVENTS = Counter("suite_events", "Events consumed through the inbox, by type and outcome "
                 "(applied, duplicate, late, conflict, retried, dead_lettered)", ["service", "event_type", "outcome"],
                 registry=REGISTRY)
GRAPHQL_REQUESTS = Counter("suite_graphql_requests", "GraphQL requests, by outcome "
                           "(ok, partial, refused, unauthenticated, failed)", ["service", "outcome"],
                           registry=REGISTRY)
GRAPHQL_SECONDS = Histogram("suite_graphql_duration_seconds", "Time to answer a GraphQL request",
                            ["service"], registry=REGISTRY)
SCRAPE_ERRORS = Counter("suite_metrics_scrape_errors", "Scrape-time gauges that could not be computed "
                        "(left out of that scrape)", ["service", "gauge"], registry=REGISTRY)

EVENT_OUTCOMES = ("applied", "duplicate", "late", "conflict", "retried", "dead_lettered")


def count_event(service: str, event_type: str, outcome: str) -> None:
    """Called by the inbox where it decides what became of an event."""
    EVENTS.labels(service, event_type, outcome).inc()


@dataclass(frozen=True)
class Tally:
    """Gauges computed at scrape time by one aggregate: the documents of ``collection`` that
    match ``match`` (keep it to one indexed field: fast on every store),
    counted by the value of their field ``by``. ``gauges`` maps a value to the gauge
    (name, help) that reports its count, 0 when none match."""
    collection: str
    match: Mapping
    by: str
    gauges: Mapping[str | None, tuple[str, str]]

    def families(self, db, service: str) -> list[GaugeMetricFamily]:
        found = metrics_store.counts_by(db, self.collection, self.match, self.by)
        return [_gauge(name, doc, service, found.get(value, 0)) for value, (name, doc) in self.gauges.items()]

    @property
    def name(self) -> str:
        return ",".join(name for name, _ in self.gauges.values())


def outbox_backlog(db, collections, service: str) -> list[GaugeMetricFamily]:
    return [_gauge("suite_outbox_backlog", "Events written to the outbox and not yet published", service,
                   metrics_store.outbox_backlog(db, collections))]


def _gauge(name: str, doc: str, service: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=["service"])
    family.add_metric([service], value)
    return family


class _Families:
    """A collector of the gauges computed for one scrape."""

    def __init__(self, families):
        self.families = families

    def collect(self):
        return self.families


class Metrics(DependencyProvider):
    """``metrics = Metrics(*tallies)``: times and counts the service's RPC calls (and, with
    ``graphql_url``, the GraphQL requests there) and renders ``/metrics``."""

    def __init__(self, *tallies: Tally, graphql_url: str | None = None):
        self.tallies = tallies
        self.graphql_url = graphql_url
        self._started: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def get_dependency(self, worker_ctx):
        return self

    def _measured(self, entrypoint) -> bool:
        return isinstance(entrypoint, Rpc) or (
            self.graphql_url is not None and isinstance(entrypoint, HttpRequestHandler)
            and entrypoint.url == self.graphql_url)

    def worker_setup(self, worker_ctx):
        if self._measured(worker_ctx.entrypoint):
            self._started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self._started.pop(worker_ctx, None)
        if started is None:
            return
        elapsed = time.perf_counter() - started
        service, entrypoint = self.container.service_name, worker_ctx.entrypoint
        if isinstance(entrypoint, Rpc):
            RPC_CALLS.labels(service, entrypoint.method_name, rpc_outcome(exc_info, result)).inc()
            RPC_SECONDS.labels(service, entrypoint.method_name).observe(elapsed)
            return
        outcome = graphql_outcome(result, exc_info)
        if outcome is not None:  # None: the GraphiQL page, not a request
            GRAPHQL_REQUESTS.labels(service, outcome).inc()
            GRAPHQL_SECONDS.labels(service).observe(elapsed)

    # ---- scrape -----------------------------------------------------------------------

    def exposition(self) -> bytes:
        scraped = _Families(self._scrape())  # first: it may count scrape errors
        return generate_latest(REGISTRY) + generate_latest(scraped)

    def _scrape(self) -> list[GaugeMetricFamily]:
        service = self.container.service_name
        store = next((d for d in self.container.dependencies if isinstance(d, Store)), None)
        if store is None:
            return []
        jobs = [(tally.name, tally.families) for tally in self.tallies]
        relay = next((d for d in self.container.dependencies if isinstance(d, OutboxRelay)), None)
        if relay is not None:
            jobs.insert(0, ("suite_outbox_backlog",
                            lambda db, svc: outbox_backlog(db, relay.collection_names, svc)))

        def run(job):
            gauge, compute = job
            try:
                with pymongo.timeout(SCRAPE_TIMEOUT):
                    return compute(store.db, service)
            except Exception as exc:  # a gauge that fails is left out; the rest is still shown
                log.warning("metrics: %s not computed: %s: %s", gauge, type(exc).__name__,
                            (str(exc).splitlines() or [""])[0][:200])
                SCRAPE_ERRORS.labels(service, gauge).inc()
                return []
        pool = eventlet.GreenPool(max(1, len(jobs)))  # all at once: one slow query must not add to another
        return [family for families in pool.imap(run, jobs) for family in families]


def rpc_outcome(exc_info, result=None) -> str:
    """``ok``, the code the gateway would show (``not_found``, ``unavailable``...), or
    ``partial``: an overview answered with a part that failed its check."""
    if exc_info is None:
        return "partial" if overview.failed_parts(result) else "ok"
    exc = exc_info[1]
    return (exc.code if isinstance(exc, SuiteError) else SuiteError.code).lower()


def graphql_outcome(result, exc_info) -> str | None:
    if exc_info is not None:
        return "failed"
    if isinstance(result, Response):
        status, content_type = result.status_code, result.content_type or ""
        body = result.get_data(as_text=True)
    elif isinstance(result, tuple) and len(result) == 3:
        status, headers, body = result
        content_type = (headers or {}).get("Content-Type", "")
    else:
        return None
    if not content_type.startswith("application/json"):
        return None
    if status == 401:
        return "unauthenticated"
    if status >= 500:
        return "failed"
    if status >= 400:
        return "refused"
    if '"errors"' in body:  # cheap test first; parse only to be sure it is the top-level key
        payload = json.loads(body)
        if payload.get("errors"):
            return "partial" if payload.get("data") is not None else "refused"
    return "ok"


class MetricsEntrypoints:
    """Mixed into a service class: ``GET /metrics`` in Prometheus' text format. A service
    with gauges of its own declares ``metrics = Metrics(Tally(...))``."""

    metrics = Metrics()

    @http("GET", "/metrics")
    def metrics_http(self, request):
        return Response(self.metrics.exposition(), status=200, content_type=CONTENT_TYPE_PLAIN_0_0_4)
