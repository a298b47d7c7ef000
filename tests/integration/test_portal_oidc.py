"""Signing in to the portal through the district's identity provider: a real OpenID Connect
provider (``oidc-provider`` on Node.js, ``tests/support/oidc.py``), the authorization code flow
with PKCE walked over HTTP through its sign-in and consent forms; the person matched to the
registry by ID number or by a verified phone number; a forged state, a replayed code, a
mismatched nonce and a provider that is not configured each end on a page that says so."""
import re
import uuid
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from gateway.console.keys import ConsoleKeys
from gateway.service import GatewayService
from services.community.service import CommunityService
from support import id_number, load_demo_district, web_address
from support.oidc import provider

SECRET = "portal-oidc-secret-of-at-least-32-bytes"
CLIENT, CLIENT_SECRET = "portal", "portal-client-secret"
ACTION = re.compile(r'action="([^"]+)"')
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


@pytest.fixture
def district(start_service, service_config, rpc):
    start_service(CommunityService)
    load_demo_district(rpc)
    number, phone = id_number(), "135" + f"{uuid.uuid4().int % 10 ** 8:08d}"
    resident = rpc.community.register_resident({"id_number": number, "name": "郑洁", "phone": phone,
                                                "registered_committee": "C0101", "residence_committee": "C0101",
                                                "address": "龙华路7号"})["resident_id"]
    return {"id_number": number, "phone": phone, "resident": resident}


@pytest.fixture
def portal(district, start_service, service_config):
    config = service_config("gateway", JWT_SECRET=SECRET, RPC_TIMEOUT=3.0, OIDC_CLIENT_ID=CLIENT,
                            OIDC_CLIENT_SECRET=CLIENT_SECRET, OIDC_SCOPES="openid profile phone identity")
    base = "http://" + config["WEB_SERVER_ADDRESS"]
    accounts = {"by-id": {"name": "郑洁", "id_number": district["id_number"]},
                "by-phone": {"name": "郑洁", "phone_number": district["phone"], "phone_number_verified": True},
                "unverified-phone": {"phone_number": district["phone"], "phone_number_verified": False},
                "stranger": {"name": "路人", "id_number": id_number()}}
    clients = [{"client_id": CLIENT, "client_secret": CLIENT_SECRET, "redirect_uris": [base + "/login/oidc/callback"],
                "grant_types": ["authorization_code"], "response_types": ["code"]}]
    with provider(clients, accounts) as issuer:
        start_service(GatewayService, {**config, "OIDC_ISSUER": issuer})
        yield base


def to_callback(portal, login, browser=None, path="/login/oidc"):
    """Leave ``portal`` (its ``path`` starts the sign-in) for the provider, sign in there as
    ``login`` and consent; the callback URL it sends the browser back to (not yet followed)
    and the browser."""
    browser = browser or requests.Session()
    page = browser.get(portal + path, timeout=10)           # follows to the provider's sign-in form
    assert page.status_code == 200 and "login" in page.text, page.text[:500]
    form_base = f"{urlparse(page.url).scheme}://{urlparse(page.url).netloc}"

    def absolute(url):
        return url if url.startswith("http") else form_base + url
    def submit(page, allow_redirects=True, **fields):   # the provider's form, its hidden fields with it
        return browser.post(absolute(ACTION.search(page.text).group(1)), data={**dict(HIDDEN.findall(page.text)),
                            **fields}, timeout=10, allow_redirects=allow_redirects)
    consent = submit(page, login=login, password="x")
    answer = submit(consent, allow_redirects=False)
    while answer.status_code in (302, 303) and not answer.headers["Location"].startswith(portal):
        answer = browser.get(absolute(answer.headers["Location"]), timeout=10, allow_redirects=False)
    return answer.headers["Location"], browser


def test_signed_in_by_id_number_or_a_verified_phone(portal, district):
    for login in ("by-id", "by-phone"):
        callback, browser = to_callback(portal, login)
        assert parse_qs(urlparse(callback).query)["state"]
        done = browser.get(callback, timeout=10)
        assert done.status_code == 200 and "登录成功" in done.text and 'http-equiv="refresh"' in done.text
        home = browser.get(portal + "/", timeout=10)
        assert home.url == portal + "/" and "郑洁，您好" in home.text, login
        assert not [c for c in browser.cookies if c.name == "portal_oidc"]


def test_a_person_not_in_the_registry_gets_a_page_saying_what_to_do(portal):
    for login in ("stranger", "unverified-phone"):
        callback, browser = to_callback(portal, login)
        done = browser.get(callback, timeout=10)
        assert done.status_code == 200 and "尚未找到您的居民信息" in done.text
        assert browser.get(portal + "/", timeout=10).url == portal + "/login"


def test_a_forged_state_a_replayed_code_and_another_nonce_are_refused(portal):
    callback, browser = to_callback(portal, "by-id")
    forged = callback.replace("state=", "state=x")
    refused = browser.get(forged, timeout=10)
    assert refused.status_code == 400 and "已失效或来源不明" in refused.text

    done = browser.get(callback, timeout=10)
    assert "登录成功" in done.text
    replayed = requests.get(callback, timeout=10, cookies={"portal_oidc": "none"})
    assert replayed.status_code == 400 and "portal_session" not in replayed.cookies
    again = requests.Session()
    again.cookies.update({c.name: c.value for c in browser.cookies if c.name == "portal_oidc"})
    assert again.get(callback, timeout=10).status_code == 400     # the cookie was used up with the code

    # the attempt's cookie re-signed with another nonce: the ID token's nonce no longer matches
    fresh = requests.Session()
    callback, fresh = to_callback(portal, "by-id", fresh)
    keys = ConsoleKeys(SECRET, "portal")
    cookie = next(c for c in fresh.cookies if c.name == "portal_oidc")
    state, _, verifier = keys.unsign(cookie.value).split("~")
    fresh.cookies.set("portal_oidc", keys.sign(f"{state}~other-nonce~{verifier}"), path="/login/oidc",
                      domain=cookie.domain)
    mismatched = fresh.get(callback, timeout=10)
    assert mismatched.status_code == 400 and "校验未通过" in mismatched.text
    assert fresh.get(portal + "/", timeout=10).url == portal + "/login"


def test_without_a_provider_the_portal_offers_the_phone_code_only(start_service, service_config):
    gateway = start_service(GatewayService, service_config("gateway", JWT_SECRET=SECRET))
    base = web_address(gateway)
    assert 'id="oidc"' not in requests.get(base + "/login", timeout=10).text
    page = requests.get(base + "/login/oidc", timeout=10)
    assert page.status_code == 404 and "手机验证码" in page.text
