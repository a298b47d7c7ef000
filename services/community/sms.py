"""Text messages to residents' phones (sign-in codes), through a pluggable sender.

``SMS_SENDER``: ``file`` (the default: each message a JSON line appended to ``SMS_FILE``,
``var/sms/outbox.jsonl``, for development, demos and tests) or ``http`` (POST
``{"to", "text"}`` as JSON to ``SMS_HTTP_URL`` with ``Authorization: Bearer SMS_HTTP_TOKEN``:
the district's SMS gateway; a non-2xx answer is a failure).
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import requests
from nameko.extensions import DependencyProvider

from services.common import clock
from services.common import config as suite_config
from services.common.config import option


class SmsFailed(Exception):
    """The message was not taken by the sender."""


class FileSender:
    _lock = threading.Lock()

    def __init__(self, path: str):
        self.path = Path(path)

    def send(self, to: str, text: str) -> None:
        line = json.dumps({"to": to, "text": text, "at": clock.now().isoformat()}, ensure_ascii=False)
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(line + "\n")
        except OSError as exc:
            raise SmsFailed(f"could not write {self.path}: {exc.strerror}") from None


class HttpSender:
    def __init__(self, url: str, token: str, timeout: float = 5.0):
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, to: str, text: str) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            answer = requests.post(self.url, json={"to": to, "text": text}, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise SmsFailed(f"the SMS gateway did not answer: {type(exc).__name__}") from None
        if not 200 <= answer.status_code < 300:
            raise SmsFailed(f"the SMS gateway answered {answer.status_code}")


def outbox_path(config: dict) -> str:
    """Where the file sender writes (``SMS_FILE``, else ``var/sms/outbox.jsonl``)."""
    default = os.path.join(suite_config.load().var_dir, "sms", "outbox.jsonl")
    return str(option(config, "SMS_FILE", default))


def sender_of(config: dict):
    kind = str(option(config, "SMS_SENDER", "file")).lower()
    if kind == "http":
        url = str(option(config, "SMS_HTTP_URL", ""))
        if not url:
            raise SystemExit("SMS_SENDER=http needs SMS_HTTP_URL")
        return HttpSender(url, str(option(config, "SMS_HTTP_TOKEN", "")))
    if kind == "file":
        return FileSender(outbox_path(config))
    raise SystemExit(f"SMS_SENDER must be file or http, not {kind!r}")


class Sms(DependencyProvider):
    """Gives workers the configured sender (``send(to, text)``, raising ``SmsFailed``)."""

    def setup(self):
        self.sender = sender_of(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.sender
