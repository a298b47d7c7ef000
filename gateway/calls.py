"""The RPCs one GraphQL request makes: started at once, waited for when needed, counted.

``Calls.start(service, method, ...)`` begins an RPC and returns a ``Pending`` whose
``result()`` waits with the request's timeout. Asking for the same call twice in one request
reuses the first, so a query costs a bounded number of RPCs whatever its shape.
"""
from __future__ import annotations

import json

from gateway import fanout
from services.common.config import SERVICES, option


class TooManyCalls(Exception):
    """A request went past the service calls it may make (the limits foresee the calls a query
    makes; this is the guard behind them)."""


class Calls:
    def __init__(self, proxies: dict, timeout: float, most: int | None = None):
        self.proxies = proxies
        self.timeout = timeout
        self.most = most
        self.made: list[tuple[str, str]] = []
        self._pending: dict[str, object] = {}

    @classmethod
    def configured(cls, proxies: dict, config: dict) -> "Calls":
        """Calls that wait for each service as long as the gateway's ``RPC_TIMEOUT`` says, at
        most ``GRAPHQL_MAX_CALLS`` of them, and a few more for what the limits cannot foresee
        (a place name not yet cached, a part of ``me`` asked twice)."""
        most = int(option(config, "GRAPHQL_MAX_CALLS", 20)) + len(SERVICES) + 1
        return cls(proxies, float(config.get("RPC_TIMEOUT", 5.0)), most)

    def start(self, service: str, method: str, *args, **kwargs):
        key = json.dumps([service, method, args, kwargs], sort_keys=True, default=str)
        if key not in self._pending:
            if self.most is not None and len(self.made) >= self.most:
                raise TooManyCalls(f"this request has made the {self.most} service calls it may make")
            self.made.append((service, method))
            self._pending[key] = _Once(fanout.call(self.proxies[service], service, method, *args,
                                                   timeout=self.timeout, **kwargs))
        return self._pending[key]

    def call(self, service: str, method: str, *args, **kwargs):
        return self.start(service, method, *args, **kwargs).result()


class _Once:
    """Waits once; later calls give the same value or raise the same error."""

    def __init__(self, wait):
        self._wait = wait
        self._done = False

    def result(self):
        if not self._done:
            try:
                self._value, self._error = self._wait(), None
            except Exception as exc:  # kept, so every field that needs it fails alike
                self._value, self._error = None, exc
            self._done = True
        if self._error is not None:
            raise self._error
        return self._value
