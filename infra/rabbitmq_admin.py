"""RabbitMQ's management HTTP API: virtual hosts and users (tests, kiosk credentials), shovels (district links)."""
from __future__ import annotations

import os
from urllib.parse import quote

import requests

MANAGEMENT_URI = os.environ.get("RABBITMQ_MANAGEMENT_URI", "http://guest:guest@127.0.0.1:15672")


class ManagementUnavailable(RuntimeError):
    pass


def _call(method: str, path: str, json=None, base: str = MANAGEMENT_URI):
    try:
        response = requests.request(method, base.rstrip("/") + "/api/" + path, json=json, timeout=10)
    except requests.ConnectionError:
        raise ManagementUnavailable(
            f"RabbitMQ's management API does not answer at {base.split('@')[-1]}: "
            "enable it with `rabbitmq-plugins enable rabbitmq_management`") from None
    if response.status_code >= 400 and not (method == "DELETE" and response.status_code == 404):
        raise RuntimeError(f"{method} /api/{path}: {response.status_code} {response.text[:200]}")
    return response.json() if response.content else None


def create_vhost(name: str, user: str = "guest") -> None:
    _call("PUT", f"vhosts/{quote(name, safe='')}")
    _call("PUT", f"permissions/{quote(name, safe='')}/{quote(user, safe='')}",
          {"configure": ".*", "write": ".*", "read": ".*"})


def delete_vhost(name: str) -> None:
    _call("DELETE", f"vhosts/{quote(name, safe='')}")


def import_definitions(definitions: dict) -> None:
    """Merge exchanges, queues, bindings, policies (and vhosts, users) into the broker."""
    _call("POST", "definitions", definitions)


def queue_info(vhost: str, queue: str) -> dict:
    return _call("GET", f"queues/{quote(vhost, safe='')}/{quote(queue, safe='')}")


def available() -> bool:
    try:
        _call("GET", "overview")
        return True
    except ManagementUnavailable:
        return False


def put_user(name: str, password: str, tags: str = "") -> None:
    _call("PUT", f"users/{quote(name, safe='')}", {"password": password, "tags": tags})


def delete_user(name: str) -> None:
    _call("DELETE", f"users/{quote(name, safe='')}")


def set_permissions(vhost: str, user: str, configure: str, write: str, read: str) -> None:
    _call("PUT", f"permissions/{quote(vhost, safe='')}/{quote(user, safe='')}",
          {"configure": configure, "write": write, "read": read})


def set_topic_permissions(vhost: str, user: str, exchange: str, write: str, read: str) -> None:
    _call("PUT", f"topic-permissions/{quote(vhost, safe='')}/{quote(user, safe='')}",
          {"exchange": exchange, "write": write, "read": read})


def put_shovel(vhost: str, name: str, value: dict) -> None:
    """A dynamic shovel (a runtime parameter of the ``rabbitmq_shovel`` plugin)."""
    _call("PUT", f"parameters/shovel/{quote(vhost, safe='')}/{quote(name, safe='')}", {"value": value})


def delete_shovel(vhost: str, name: str) -> None:
    _call("DELETE", f"parameters/shovel/{quote(vhost, safe='')}/{quote(name, safe='')}")


def shovels(vhost: str) -> list[dict]:
    """The shovels running in ``vhost`` and their state (``running``, ``starting``, ...)."""
    return _call("GET", f"shovels/{quote(vhost, safe='')}") or []


def shovel_plugin_on() -> bool:
    try:
        _call("GET", "shovels")
        return True
    except RuntimeError:
        return False


def connections() -> list[dict]:
    return _call("GET", "connections") or []


def close_connection(name: str) -> None:
    _call("DELETE", f"connections/{quote(name, safe='')}")
