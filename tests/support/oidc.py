"""A real OpenID Connect provider for the sign-in tests: the npm package ``oidc-provider``
(``tests/e2e/browser/oidc_provider.mjs``) on the machine's Node.js, on a port of its own, with
the clients and accounts a test gives. ``make test`` installs it with the browser tools; a
machine without Node.js or the package skips, saying which is missing."""
from __future__ import annotations

import json
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from support import free_port, wait_for

TOOLS = Path(__file__).resolve().parent.parent / "e2e" / "browser"
SCRIPT = TOOLS / "oidc_provider.mjs"


def missing() -> str | None:
    if not shutil.which("node"):
        return "no Node.js to run the OpenID Connect provider with (Debian's package nodejs)"
    if not (TOOLS / "node_modules" / "oidc-provider").exists():
        return "oidc-provider is not installed: npm ci --prefix tests/e2e/browser (make test does)"
    return None


@contextmanager
def provider(clients: list[dict], accounts: dict[str, dict]):
    """The issuer URL of a running provider; stopped after."""
    why = missing()
    if why:
        pytest.skip(why)
    port = free_port()
    process = subprocess.Popen(["node", str(SCRIPT), json.dumps({"port": port, "clients": clients,
                                                                 "accounts": accounts})],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=TOOLS)
    issuer = f"http://127.0.0.1:{port}"
    try:
        def up():
            if process.poll() is not None:
                pytest.fail(f"the OIDC provider did not start: {process.stderr.read()[-2000:]}")
            try:
                return requests.get(issuer + "/.well-known/openid-configuration", timeout=1).ok
            except requests.ConnectionError:
                return False
        wait_for(up, timeout=20)
        yield issuer
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
