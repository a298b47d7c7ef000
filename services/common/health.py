"""Health of a service: can it reach its broker and its store?

``GET /health`` answers 200 with the report, or 503 naming what is down; it answers
within about a second even when the store is unreachable. The same report is the
``health`` RPC that the gateway fans out to.
"""
from __future__ import annotations

import json

import eventlet
from kombu import Connection
from nameko.extensions import DependencyProvider
from nameko.web.handlers import http

from contracts.rpc.common import HealthReportV1
from services.common.metrics import MetricsEntrypoints
from services.common.rpc import rpc
from services.common.storage import Store, ping

CHECK_TIMEOUT = 0.8


def broker_problem(amqp_uri: str, timeout: float = CHECK_TIMEOUT) -> str | None:
    try:
        with eventlet.Timeout(timeout), Connection(amqp_uri, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1)
        return None
    except (Exception, eventlet.Timeout) as exc:
        return f"{type(exc).__name__}: {exc}"[:200]


class HealthCheck(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return self.report

    def report(self) -> dict:
        container = self.container
        store = next(d for d in container.dependencies if isinstance(d, Store))
        checks = {}
        pool = eventlet.GreenPool(2)  # both at once: one slow part must not double the wait
        broker = pool.spawn(broker_problem, container.config["AMQP_URI"])
        mongo = pool.spawn(ping, store.db, CHECK_TIMEOUT)
        checks["broker"], checks["store"] = broker.wait(), mongo.wait()
        report = HealthReportV1(
            service=container.service_name,
            status="up" if not any(checks.values()) else "down",
            broker="down" if checks["broker"] else "up",
            store="down" if checks["store"] else "up",
            detail={k: v for k, v in checks.items() if v},
        )
        return report.model_dump()


class HealthEntrypoints(MetricsEntrypoints):
    """Mixed into every service class (``health_check = HealthCheck()`` is provided, and
    ``GET /metrics``)."""

    health_check = HealthCheck()

    @http("GET", "/health")
    def health_http(self, request):
        report = self.health_check()
        status = 200 if report["status"] == "up" else 503
        return status, {"Content-Type": "application/json"}, json.dumps(report)

    @rpc
    def health(self):
        return self.health_check()
