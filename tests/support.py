"""Helpers shared by the tests (fixtures live in conftest.py)."""
import random

import eventlet
import pytest
from stdnum.cn import ric


def web_address(container) -> str:
    return "http://" + container.config["WEB_SERVER_ADDRESS"]


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
    """Poll until ``predicate()`` is truthy; return its value or fail the test."""
    hub = eventlet.hubs.get_hub()
    deadline = hub.clock() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if hub.clock() > deadline:
            pytest.fail(f"condition not met within {timeout}s: {getattr(predicate, '__name__', predicate)}")
        eventlet.sleep(interval)


def id_number(birth: str = "19800101", region: str = "310101") -> str:
    """A valid 18-digit resident ID (checksum computed), random sequence digits."""
    body = region + birth + f"{random.randrange(1000):03d}"
    return body + ric.calc_check_digit(body + "0")  # it ignores the last digit
