"""Health endpoints and RPCs when the store goes away."""
import time

import pytest
import requests
from nameko.exceptions import RemoteError

from services.library.service import LibraryService
from support import web_address


def test_health_says_up_then_names_the_store_when_it_stops(own_store, start_service, service_config, rpc):
    proc, uri = own_store
    library = start_service(LibraryService, service_config("library", MONGO_URI=uri, STORE_TIMEOUT_MS=1000))
    url = web_address(library) + "/health"
    up = requests.get(url, timeout=5)
    assert up.status_code == 200 and up.json() == {
        "service": "library", "status": "up", "broker": "up", "store": "up", "detail": {}}

    proc.kill()
    proc.wait()
    started = time.monotonic()
    down = requests.get(url, timeout=5)
    elapsed = time.monotonic() - started
    assert down.status_code == 503
    assert down.json()["store"] == "down" and down.json()["broker"] == "up"
    assert "store" in down.json()["detail"]
    assert elapsed < 1.5, f"/health took {elapsed:.2f}s with the store down"

    report = rpc.library.health()
    assert report["status"] == "down" and report["store"] == "down"
    with pytest.raises(RemoteError) as err:
        rpc.library.get_patron("anyone")
    assert err.value.exc_type == "StoreUnavailable"
    assert "document store is unavailable" in err.value.value
