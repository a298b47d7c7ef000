"""Teachers signing in to the e-schoolbag through the district's identity provider (a real
OpenID Connect provider, ``tests/support/oidc.py``): a roster teacher linked to an identity
(``suite school link``) opens their classes; an identity linked to no teacher and a forged
state end on a page saying why, with no session."""
import pytest
import requests

from gateway.service import GatewayService
from infra.cli import main as cli
from services.community.service import CommunityService
from services.elearning.service import ElearningService
from support import load_demo_district
from support.browser import run, serious
from support.oidc import provider
from support.school_data import make_school
from test_portal_oidc import to_callback

SECRET = "school-oidc-secret-of-at-least-32-bytes"
pytestmark = pytest.mark.timeout(300)


def test_a_linked_teacher_signs_in_and_a_stranger_is_told_why(start_service, service_config, rpc, settings,
                                                                 tmp_path, monkeypatch, capsys):
    start_service(CommunityService)
    start_service(ElearningService)
    load_demo_district(rpc)
    school = make_school(rpc, tmp_path)
    config = service_config("gateway", JWT_SECRET=SECRET, RPC_TIMEOUT=3.0, OIDC_CLIENT_ID="school",
                            OIDC_CLIENT_SECRET="school-secret", OIDC_SCOPES="openid profile")
    base = "http://" + config["WEB_SERVER_ADDRESS"]
    clients = [{"client_id": "school", "client_secret": "school-secret",
                "redirect_uris": [base + "/school/login/oidc/callback"]}]
    with provider(clients, {"wang.t": {"name": "王老师"}, "stranger": {"name": "路人"}}) as issuer:
        start_service(GatewayService, {**config, "OIDC_ISSUER": issuer})
        monkeypatch.setenv("AMQP_URI", settings.amqp_uri)
        assert cli.main(["school", "link", school.t1, "--subject", "wang.t", "--issuer", issuer]) == 0
        assert "wang.t" in capsys.readouterr().out
        assert 'id="oidc"' in requests.get(base + "/school/login", timeout=10).text

        callback, browser = to_callback(base, "wang.t", path="/school/login/oidc")
        done = browser.get(callback, timeout=10)
        assert done.status_code == 200 and 'url=/school"' in done.text
        classes = browser.get(base + "/school", timeout=10)
        assert classes.url == base + "/school" and "三年级(2)班" in classes.text

        callback, stranger = to_callback(base, "stranger", path="/school/login/oidc")
        refused = stranger.get(callback, timeout=10)
        assert refused.status_code == 403 and "未关联教师" in refused.text and "school_session" not in refused.cookies
        forged = requests.Session()
        callback, _ = to_callback(base, "wang.t", path="/school/login/oidc")
        answer = forged.get(callback, timeout=10)   # another browser: no attempt of its own
        assert answer.status_code == 400 and "school_session" not in answer.cookies

        # and as the teacher does it, on the school's tablet: Chromium through the provider's own pages
        seen = run([
            {"goto": base + "/school/login"}, {"axe": "axe_login"},
            {"click": "#oidc"},
            {"fill": "input[name=login]", "value": "wang.t"}, {"fill": "input[name=password]", "value": "x"},
            {"click": "button[type=submit]"}, {"click": "button[type=submit]"},   # sign in, consent
            {"until": "location.pathname === '/school'"},
            {"eval": "classes", "js": "document.querySelector('main').innerText"}, {"axe": "axe_classes"},
        ], viewport={"width": 820, "height": 1180})
    assert "三年级(2)班" in seen["classes"], seen.get("error")
    for name in ("axe_login", "axe_classes"):
        assert serious(seen[name]) == [], (name, seen[name])
    # the only requests elsewhere are the test provider's own sign-in page's (oidc-provider's
    # development pages ask Google for a font); none is the school pages'
    assert {u.split("/")[2] for u in seen["outside"]} <= {"fonts.googleapis.com"}, seen["outside"]
