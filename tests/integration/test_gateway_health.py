"""The gateway's ``{ health { service status } }`` reaches every service at once."""
import pytest
import requests

from gateway.service import GatewayService
from services.community.service import CommunityService
from services.elearning.service import ElearningService
from services.library.service import LibraryService
from support import web_address

QUERY = {"query": "{ health { service status broker store } }"}


@pytest.fixture
def gateway(start_service, service_config):
    return start_service(GatewayService, service_config("gateway", JWT_SECRET="health-test-secret-of-at-least-32-bytes", RPC_TIMEOUT=1.0))


def test_health_reaches_all_three_services(gateway, start_service):
    for cls in (CommunityService, LibraryService, ElearningService):
        start_service(cls)
    response = requests.post(web_address(gateway) + "/graphql", json=QUERY, timeout=10)
    assert response.status_code == 200, response.text
    health = {h["service"]: h for h in response.json()["data"]["health"]}
    assert set(health) == {"community", "library", "elearning"}
    assert all(h["status"] == "up" and h["store"] == "up" and h["broker"] == "up" for h in health.values())


def test_missing_service_is_named_unavailable_and_the_rest_answers(gateway, start_service):
    start_service(CommunityService)
    response = requests.post(web_address(gateway) + "/graphql", json=QUERY, timeout=10)
    health = {h["service"]: h["status"] for h in response.json()["data"]["health"]}
    assert health == {"community": "up", "library": "unavailable", "elearning": "unavailable"}


def test_bad_requests_get_clear_coded_errors(gateway):
    url = web_address(gateway) + "/graphql"
    bad_json = requests.post(url, data="{nope", headers={"content-type": "application/json"}, timeout=10)
    assert bad_json.status_code == 400
    assert bad_json.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    unknown_field = requests.post(url, json={"query": "{ nothing }"}, timeout=10)
    assert unknown_field.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    forged = requests.post(url, json=QUERY, headers={"Authorization": "Bearer not.a.token"}, timeout=10)
    assert forged.status_code == 401
    assert forged.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_the_gateways_own_health_follows_its_broker(gateway):
    from support import free_port
    up = requests.get(web_address(gateway) + "/health", timeout=5)
    assert up.status_code == 200 and up.json() == {"service": "gateway", "status": "up", "broker": "up"}
    gateway.config["AMQP_URI"] = f"amqp://guest:guest@127.0.0.1:{free_port()}/"   # the broker is gone
    down = requests.get(web_address(gateway) + "/health", timeout=5)
    assert down.status_code == 503 and down.json()["broker"] == "down" and down.json()["detail"]["broker"]
    # the broker check's own bound and what a request costs here now, not the client's 5 s
    from services.common.health import CHECK_TIMEOUT
    assert down.elapsed.total_seconds() < CHECK_TIMEOUT + 0.5 + 5 * up.elapsed.total_seconds()
