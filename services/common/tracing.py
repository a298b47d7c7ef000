"""OpenTelemetry traces through RPC calls and events, exported when an endpoint is configured.

The W3C ``traceparent`` travels in nameko's context data, so nameko carries it as the
``nameko.traceparent`` header on every RPC call and nameko event a worker makes; events
published later by the outbox relay carry it in their CloudEvents envelope (the distributed
tracing extension) and the relay puts it back in the header. Each worker is one span: a
server span for an RPC call or an HTTP request, a consumer span for an event, with the
caller's span as parent.

Spans are exported over OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set; otherwise trace context is still made and
carried (logs and events keep their trace ids) but nothing leaves the process.
"""
from __future__ import annotations

import os
import re
import threading

from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from nameko.web.handlers import HttpRequestHandler
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanProcessor
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags

CONTEXT_KEY = "traceparent"
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")

_current = threading.local()          # green-thread local once eventlet has patched threading
_providers: dict[str, TracerProvider] = {}
_extra_processors: list[SpanProcessor] = []
_lock = threading.Lock()


def current_traceparent() -> str | None:
    """The traceparent of the span the current worker runs in (for events it stores)."""
    return getattr(_current, "value", None)


def parse(traceparent) -> SpanContext | None:
    """A remote parent from a W3C traceparent; None for anything else (never trusted blindly)."""
    match = TRACEPARENT.match(traceparent) if isinstance(traceparent, str) else None
    if not match or set(match.group(1)) == {"0"} or set(match.group(2)) == {"0"}:
        return None
    return SpanContext(int(match.group(1), 16), int(match.group(2), 16), is_remote=True,
                       trace_flags=TraceFlags(int(match.group(3), 16) & 1))


def format_traceparent(ctx: SpanContext) -> str:
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def _exporter_processor() -> SpanProcessor | None:
    if not (os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    return BatchSpanProcessor(OTLPSpanExporter())   # reads the standard OTEL_* variables


def provider(service: str) -> TracerProvider:
    """One provider per service name in this process (tests run several services in one)."""
    with _lock:
        if service not in _providers:
            made = TracerProvider(resource=Resource.create({"service.name": service}))
            exporter = _exporter_processor()
            if exporter is not None:
                made.add_span_processor(exporter)
            for processor in _extra_processors:
                made.add_span_processor(processor)
            _providers[service] = made
        return _providers[service]


def add_span_processor(processor: SpanProcessor) -> None:
    """Send every service's spans to ``processor`` as well (tests use an in-memory exporter)."""
    with _lock:
        _extra_processors.append(processor)
        for made in _providers.values():
            made.add_span_processor(processor)


def _span_shape(worker_ctx) -> tuple[str, SpanKind, str | None, dict]:
    """(name, kind, traceparent from the caller, attributes) for the worker's entrypoint."""
    entrypoint = worker_ctx.entrypoint
    incoming = worker_ctx.context_data.get(CONTEXT_KEY)
    if isinstance(entrypoint, HttpRequestHandler):
        request = worker_ctx.args[0] if worker_ctx.args else None
        header = request.headers.get("traceparent") if request is not None else None
        return (f"HTTP {entrypoint.method} {entrypoint.url}", SpanKind.SERVER, header,
                {"http.request.method": entrypoint.method, "http.route": entrypoint.url})
    if isinstance(entrypoint, Rpc):
        return (f"rpc {worker_ctx.service_name}.{entrypoint.method_name}", SpanKind.SERVER, incoming,
                {"rpc.system": "nameko", "rpc.service": worker_ctx.service_name,
                 "rpc.method": entrypoint.method_name})
    event_type = getattr(entrypoint, "event_type", None)
    if event_type is not None:
        return (f"event {event_type}", SpanKind.CONSUMER, incoming,
                {"messaging.system": "rabbitmq", "messaging.destination.name": event_type})
    return f"{worker_ctx.service_name}.{entrypoint.method_name}", SpanKind.INTERNAL, incoming, {}


class Tracing(DependencyProvider):
    """``tracing = Tracing()`` on a service class: one span per worker, parented by the caller."""

    def setup(self):
        self.tracer = provider(self.container.service_name).get_tracer("smart-community-suite")
        self.spans: dict = {}

    def worker_setup(self, worker_ctx):
        name, kind, incoming, attributes = _span_shape(worker_ctx)
        parent = parse(incoming)
        context = trace.set_span_in_context(NonRecordingSpan(parent)) if parent else None
        attributes["suite.correlation_id"] = str(worker_ctx.context_data.get("correlation_id") or "")
        span = self.tracer.start_span(name, context=context, kind=kind, attributes=attributes)
        self.spans[worker_ctx] = span
        traceparent = format_traceparent(span.get_span_context())
        worker_ctx.data[CONTEXT_KEY] = traceparent   # nameko sends it on with calls and events
        _current.value = traceparent

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        span = self.spans.pop(worker_ctx, None)
        if span is None:
            return
        if exc_info is not None:
            span.set_status(Status(StatusCode.ERROR, type(exc_info[1]).__name__))
            span.record_exception(exc_info[1])
        span.end()

    def worker_teardown(self, worker_ctx):
        _current.value = None
        span = self.spans.pop(worker_ctx, None)   # a worker that ended without a result
        if span is not None:
            span.end()
