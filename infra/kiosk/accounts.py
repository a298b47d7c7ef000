"""Broker accounts for kiosks: each kiosk may publish only its own routing keys.

The user may write to the kiosk exchange and nothing else (no configure, no read), and
its topic permission limits the routing keys to ``kiosk.<its id>.<kind>``, the kinds of the
contract exactly (a deeper key such as ``...checkout.v2`` is refused at publish).
"""
from __future__ import annotations

import re
import secrets
from urllib.parse import unquote, urlparse

from contracts.events.kiosk import EXCHANGE, KIOSK_ID_PATTERN, broker_user, routing_key_pattern
from infra import rabbitmq_admin


def vhost_of(amqp_uri: str) -> str:
    path = urlparse(amqp_uri).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def add_kiosk(amqp_uri: str, kiosk_id: str) -> tuple[str, str]:
    """Create (or reset) the kiosk's broker user; returns (user, password)."""
    if not re.fullmatch(KIOSK_ID_PATTERN, kiosk_id):
        raise ValueError(f"a kiosk id is 1-32 letters, digits, '-' or '_': {kiosk_id!r}")
    user, password = broker_user(kiosk_id), secrets.token_urlsafe(24)
    vhost = vhost_of(amqp_uri)
    rabbitmq_admin.put_user(user, password)
    rabbitmq_admin.set_permissions(vhost, user, configure="^$", write=f"^{re.escape(EXCHANGE)}$", read="^$")
    rabbitmq_admin.set_topic_permissions(vhost, user, EXCHANGE, write=routing_key_pattern(kiosk_id), read="^$")
    return user, password


def kiosk_uri(amqp_uri: str, user: str, password: str) -> str:
    parsed = urlparse(amqp_uri)
    host = parsed.hostname or "127.0.0.1"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{user}:{password}@{host}{port}{parsed.path or '/'}"


def remove_kiosk(kiosk_id: str) -> None:
    rabbitmq_admin.delete_user(broker_user(kiosk_id))
