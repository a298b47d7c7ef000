"""Staff signing in to the console through the district's identity provider (a real OpenID
Connect provider, ``tests/support/oidc.py``): an account linked to an identity (``suite staff
link``) opens its console; an identity linked to no account, a disabled account and a forged
state end on the sign-in page saying why; an identity can be linked to one account only."""
import uuid

import pytest
import requests
from nameko.exceptions import RemoteError

from gateway.service import GatewayService
from infra.cli import main as cli
from services.community import staff
from services.community.service import CommunityService
from support import load_demo_district
from support.oidc import provider
from test_portal_oidc import to_callback

SECRET = "console-oidc-secret-of-at-least-32-bytes"


@pytest.fixture
def console(start_service, service_config, rpc):
    start_service(CommunityService)
    load_demo_district(rpc)
    config = service_config("gateway", JWT_SECRET=SECRET, RPC_TIMEOUT=3.0, OIDC_CLIENT_ID="console",
                            OIDC_CLIENT_SECRET="console-secret", OIDC_SCOPES="openid profile")
    base = "http://" + config["WEB_SERVER_ADDRESS"]
    clients = [{"client_id": "console", "client_secret": "console-secret",
                "redirect_uris": [base + "/console/login/oidc/callback"]}]
    accounts = {"li.jing": {"name": "李静"}, "stranger": {"name": "路人"}, "gone": {"name": "离职"}}
    with provider(clients, accounts) as issuer:
        start_service(GatewayService, {**config, "OIDC_ISSUER": issuer})
        yield {"base": base, "issuer": issuer}


def clerk(rpc, committee="C0201"):
    login = f"clerk-{uuid.uuid4().hex[:6]}"
    rpc.community.staff_add(login, "李静", committee, staff.hash_password(uuid.uuid4().hex))
    return login


def test_a_linked_clerk_signs_in_and_others_are_told_why(console, rpc, settings, monkeypatch, capsys):
    base, issuer = console["base"], console["issuer"]
    login = clerk(rpc)
    monkeypatch.setenv("AMQP_URI", settings.amqp_uri)
    assert cli.main(["staff", "link", login, "--subject", "li.jing", "--issuer", issuer]) == 0
    assert "li.jing" in capsys.readouterr().out
    assert 'id="oidc"' in requests.get(base + "/console/login", timeout=10).text

    callback, browser = to_callback(base, "li.jing", path="/console/login/oidc")
    done = browser.get(callback, timeout=10)
    assert done.status_code == 200 and "登录成功" in done.text and 'url=/console"' in done.text
    queue = browser.get(base + "/console", timeout=10)
    assert queue.url == base + "/console" and "案件队列" in queue.text

    callback, browser = to_callback(base, "stranger", path="/console/login/oidc")
    refused = browser.get(callback, timeout=10)
    assert refused.status_code == 403 and "未关联" in refused.text
    assert browser.get(base + "/console", timeout=10).url == base + "/console/login"

    gone = clerk(rpc)
    rpc.community.staff_link_identity(gone, issuer, "gone")
    rpc.community.staff_set_active(gone, False)
    callback, browser = to_callback(base, "gone", path="/console/login/oidc")
    assert browser.get(callback, timeout=10).status_code == 403

    callback, browser = to_callback(base, "li.jing", path="/console/login/oidc")
    forged = browser.get(callback.replace("state=", "state=x"), timeout=10)
    assert forged.status_code == 400 and "已失效或来源不明" in forged.text


def test_an_identity_links_one_account_only(console, rpc):
    first, second = clerk(rpc), clerk(rpc)
    rpc.community.staff_link_identity(first, console["issuer"], "shared-sub")
    with pytest.raises(RemoteError) as caught:
        rpc.community.staff_link_identity(second, console["issuer"], "shared-sub")
    assert caught.value.exc_type == "Conflict"
    for issuer, subject in (("not-a-url", "x"), (console["issuer"], ""), (console["issuer"], "x" * 300)):
        with pytest.raises(RemoteError) as caught:
            rpc.community.staff_link_identity(first, issuer, subject)
        assert caught.value.exc_type == "BadInput"
