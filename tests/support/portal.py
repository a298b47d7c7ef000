"""The residents' portal as tests reach it: the community service (its texts written by the
file sender to a file of the test's own) and the gateway, running; signing in as a browser
does (the form, its CSRF token, the texted code read back from that file)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import requests

from gateway.service import GatewayService
from services.community.service import CommunityService
from support import load_demo_district, web_address

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
CODE = "验证码为(\\d{6})"   # a texted code, for the browser runner's fillFrom step


def csrf_of(page) -> str:
    return CSRF.search(page.text).group(1)


class Portal:
    def __init__(self, base: str, outbox: Path):
        self.base, self.outbox = base, outbox

    def code_to(self, phone: str) -> str:
        lines = [json.loads(x) for x in self.outbox.read_text(encoding="utf-8").splitlines()]
        return [x["text"].split("验证码为")[1][:6] for x in lines if x["to"] == phone][-1]

    def sign_in(self, phone: str, browser: requests.Session | None = None):
        """A browser (a requests session) signed in as the holder of ``phone``; its last answer."""
        browser = browser or requests.Session()
        page = browser.get(self.base + "/login", timeout=10)
        sent = browser.post(self.base + "/login", data={"phone": phone, "csrf": csrf_of(page)}, timeout=10)
        assert sent.status_code == 200 and 'id="code-form"' in sent.text, sent.text
        done = browser.post(self.base + "/login/code", timeout=10,
                            data={"phone": phone, "code": self.code_to(phone), "csrf": csrf_of(sent)})
        return browser, done


def console_clerk(base: str, rpc, committee: str, name: str = "周静") -> requests.Session:
    """A committee clerk's browser signed in to the staff console (a new account of its own)."""
    import uuid

    from services.community import staff
    login, password = f"clerk-{uuid.uuid4().hex[:6]}", f"pw-{uuid.uuid4().hex}"
    rpc.community.staff_add(login, name, committee, staff.hash_password(password))
    clerk = requests.Session()
    form = clerk.get(base + "/console/login", timeout=10)
    signed = clerk.post(base + "/console/login", data={"login": login, "password": password, "csrf": csrf_of(form)},
                        timeout=10)
    assert signed.status_code == 200, signed.text[-500:]
    return clerk


def start_portal(start_service, service_config, rpc, tmp_path, secret: str, *more_services) -> Portal:
    """Community (texts to a file under ``tmp_path``), ``more_services``, the gateway; the demo
    district loaded."""
    outbox = tmp_path / "sms.jsonl"
    start_service(CommunityService, service_config("community", SMS_FILE=str(outbox)))
    for cls in more_services:
        start_service(cls)
    gateway = start_service(GatewayService, service_config("gateway", JWT_SECRET=secret, RPC_TIMEOUT=5.0))
    load_demo_district(rpc)
    return Portal(web_address(gateway), outbox)
