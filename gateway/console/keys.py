"""Signing for the gateway's pages (the console, the residents' portal): cookies signed and
CSRF tokens made with keys derived from the gateway's JWT key, one per page family and
purpose, so that nothing signed for one is accepted by the other."""
from __future__ import annotations

import base64
import hashlib
import hmac

from nameko.extensions import DependencyProvider

from gateway import auth
from services.common import config as suite_config


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class ConsoleKeys:
    """Keys derived from the gateway's JWT key, one per purpose (``family``: console, portal)."""

    def __init__(self, key: str, family: str = "console"):
        master = key.encode("utf-8")
        self._cookie = hmac.new(master, f"{family}-cookie-v1".encode(), hashlib.sha256).digest()
        self._csrf = hmac.new(master, f"{family}-csrf-v1".encode(), hashlib.sha256).digest()

    def sign(self, value: str) -> str:
        return f"{value}.{_b64(hmac.new(self._cookie, value.encode(), hashlib.sha256).digest())}"

    def unsign(self, signed: str | None) -> str | None:
        """The value of a cookie we signed; None when absent, malformed or forged."""
        if not signed or len(signed) > 300 or "." not in signed:
            return None
        value, _, _ = signed.rpartition(".")
        return value if value and hmac.compare_digest(self.sign(value), signed) else None

    def csrf(self, scope: str, value: str) -> str:
        return _b64(hmac.new(self._csrf, f"{scope}|{value}".encode(), hashlib.sha256).digest())

    def csrf_ok(self, scope: str, value: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf(scope, value), str(token))


def gateway_tokens(container) -> auth.TokenConfig:
    """The token configuration the gateway's ``Authenticator`` holds (its key signs pages)."""
    found = next((d for d in container.dependencies if isinstance(d, auth.Authenticator)
                  and getattr(d, "tokens", None)), None)
    return found.tokens if found else auth.token_config(suite_config.load())


class ConsoleSecurity(DependencyProvider):
    """Gives workers the ``ConsoleKeys`` of ``family`` from the key the gateway's
    ``Authenticator`` holds."""

    keys: ConsoleKeys | None = None

    def __init__(self, family: str = "console"):
        self.family = family

    def get_dependency(self, worker_ctx):
        if self.keys is None:
            self.keys = ConsoleKeys(gateway_tokens(self.container).key, self.family)
        return self.keys
