"""Structured (JSON) logs carrying the correlation id of the work being done.

The correlation id lives in nameko's context data, so nameko itself carries it through
RPC calls and events (as the ``nameko.correlation_id`` header); ``Correlation`` makes
sure every worker has one and exposes it to the log formatter.
"""
from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from datetime import datetime, timezone

from nameko.extensions import DependencyProvider

CONTEXT_KEY = "correlation_id"
_current = threading.local()  # green-thread local once eventlet has patched threading


def current_correlation_id() -> str | None:
    return getattr(_current, "value", None)


class Correlation(DependencyProvider):
    """Gives every worker a correlation id (kept from the caller when there is one)."""

    def get_dependency(self, worker_ctx):
        # nameko injects dependencies before worker_setup, in the worker's green thread
        cid = worker_ctx.context_data.get(CONTEXT_KEY) or uuid.uuid4().hex
        worker_ctx.data[CONTEXT_KEY] = cid  # (context_data is a copy: data is what nameko sends on)
        _current.value = cid
        return cid

    def worker_teardown(self, worker_ctx):
        _current.value = None


# Defence in depth: whatever a message or a traceback quotes, a resident ID number or a mobile
# number is written with its middle hidden (first 3 and last 4 kept, as `idNumberMasked`).
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])([0-9]{3})[0-9]{11}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])")
# a mainland mobile, also as people type it: +86 / 86 before it, spaces or dashes inside
_MOBILE = re.compile(r"(?<![0-9A-Za-z])((?:\+?86[- ]?)?1[3-9][0-9])[- ]?[0-9]{4}[- ]?([0-9]{4})(?![0-9A-Za-z])")


def mask_personal(text: str) -> str:
    text = _ID_NUMBER.sub(lambda m: m[1] + "*" * 11 + m[2], text)
    return _MOBILE.sub(lambda m: m[1] + "****" + m[2], text)


class CallersMistakes(logging.Filter):
    """nameko logs an entrypoint's expected error (bad input, not found, forbidden, conflict:
    the caller's doing) as a warning with a whole traceback; it is the service working as it
    should, so it is kept as one INFO line with the error's words."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING and str(record.msg).startswith("(expected) error handling worker"):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info = record.exc_text = None
        return True


def quiet_callers_mistakes() -> None:
    """Installed once per process by the kit's ``@rpc`` (every service imports it)."""
    containers = logging.getLogger("nameko.containers")
    if not any(isinstance(f, CallersMistakes) for f in containers.filters):
        containers.addFilter(CallersMistakes())


class TextFormatter(logging.Formatter):
    """Plain lines (``LOG_FORMAT=text``), personal numbers masked."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_personal(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, correlation id, extras."""

    _skip = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        cid = current_correlation_id()
        if cid:
            entry[CONTEXT_KEY] = cid
        for key, value in vars(record).items():
            if key not in self._skip and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return mask_personal(json.dumps(entry, ensure_ascii=False, default=str))


def logging_config(level: str = "INFO", fmt: str = "json") -> dict:
    """A ``logging.config.dictConfig`` dict (also nameko's ``LOGGING`` config key)."""
    formatter = {"()": "services.common.logs.JsonFormatter"} if fmt == "json" else {
        "()": "services.common.logs.TextFormatter", "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "default"}},
        "root": {"level": level, "handlers": ["console"]},
        "loggers": {"pymongo": {"level": "WARNING"}, "amqp": {"level": "WARNING"},
                    "kombu": {"level": "WARNING"}},
    }
