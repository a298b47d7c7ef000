"""What the hostile-input tests share: the whole suite (three services and the gateway) started
in this process, tokens, and a recorder of every command the MongoDB driver sends.

Fixtures live here rather than in a ``conftest.py``: a second ``conftest`` module would shadow
``tests/conftest.py``, whose fixtures every test here uses.
"""
from __future__ import annotations

import uuid

import pytest
import requests

from gateway import auth
from gateway.service import GatewayService
from infra.local import demo_data
from services.community import catalogue
from services.community.service import CommunityService
from services.elearning.service import ElearningService
from services.library.service import LibraryService
from support import id_number, load_working_calendars, recording_commands, wait_for, web_address

SECRET = "security-test-secret-of-at-least-32-bytes"
CLERK_COMMITTEE = "C0201"

# Operators that run code or match everything: none may ever reach the store from outside.
DANGEROUS_KEYS = ("$where", "$function", "$accumulator", "$expr")


def _walk(value, path="$cmd"):
    """(path, key or None, leaf) for every key and every scalar in a command document."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield f"{path}.{k}", str(k), None
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]")
    else:
        yield path, None, value


def injections(commands, marker: str, text_allowed: bool = False) -> list[str]:
    """Where the driver was handed something from the attacker: a code-running operator, the
    marker in a key, or (unless ``text_allowed``: the marker may travel as plain text data)
    the marker anywhere at all."""
    found = []
    for name, command in commands:
        for path, key, leaf in _walk(command):
            if key is not None and (key in DANGEROUS_KEYS or marker in key):
                found.append(f"{name}: key {path}")
            elif key is None and isinstance(leaf, str) and marker in leaf:
                operand = path.rsplit(".", 1)[-1].split("[")[0]   # `$ne` in {"f": {"$ne": marker}}
                if not text_allowed or operand.startswith("$"):
                    found.append(f"{name}: value at {path}: {leaf[:80]!r}")
    return found


@pytest.fixture
def driver():
    """Record what the services started next send to the store."""
    with recording_commands() as recorder:
        yield recorder


class Suite:
    def __init__(self, url: str, tokens: auth.TokenConfig, resident: dict, containers: dict):
        self.url, self.tokens, self.resident, self.containers = url, tokens, resident, containers

    def token(self, role: str, subject: str | None = None, committee: str | None = None) -> str:
        if subject is None:
            subject = self.resident["resident_id"] if role in ("resident", "guardian") else "clerk-sec"
        if committee is None and role == "staff":
            committee = CLERK_COMMITTEE
        return auth.mint(self.tokens, role, subject, committee=committee)

    def post(self, query: str, variables=None, token: str | None = None, **extra) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.post(self.url, json={"query": query, "variables": variables, **extra}, headers=headers,
                             timeout=20)

    def ask(self, query: str, variables=None, token: str | None = None) -> dict:
        return self.post(query, variables, token).json()


def codes(answer: dict) -> list[str]:
    return [e["extensions"]["code"] for e in answer.get("errors", [])]


@pytest.fixture
def suite(driver, start_service, service_config, rpc, settings, db) -> Suite:
    """Community, library and elearning services and the gateway, with the demo places,
    matters, locations and one resident (王芳, registered in C0101, living in C0201)."""
    containers = {cls.name: start_service(cls) for cls in (CommunityService, LibraryService, ElearningService)}
    gw = start_service(GatewayService, service_config("gateway", JWT_SECRET=SECRET, RPC_TIMEOUT=3.0))
    containers["gateway"] = gw
    rpc.community.upsert_places(demo_data.PLACES)
    rpc.community.upsert_matters(catalogue.MATTERS)
    rpc.library.upsert_locations(demo_data.LOCATIONS)
    load_working_calendars(rpc)
    number = id_number()
    resident = rpc.community.register_resident({
        "id_number": number, "name": "王芳", "phone": "13800138002", "registered_committee": "C0101",
        "residence_committee": "C0201", "address": "枫林路88弄3号502室"})
    wait_for(lambda: db("library").patrons.find_one({"_id": resident["resident_id"]}))
    resident["id_number"] = number
    tokens = auth.TokenConfig(SECRET, settings.jwt_issuer, settings.jwt_audience)
    return Suite(web_address(gw) + "/graphql", tokens, resident, containers)


def marker() -> str:
    """A value no code of the suite would ever write by itself."""
    return "zz-inject-" + uuid.uuid4().hex[:12]
