"""Loads the demo data through the services themselves (so events flow as in real use)."""
from __future__ import annotations

from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy

from infra.local import demo_data
from services.common import config


def seed(settings: config.Settings) -> dict:
    added, residents = 0, []
    with ClusterRpcProxy({"AMQP_URI": settings.amqp_uri}, timeout=max(settings.rpc_timeout, 10)) as rpc:
        places = rpc.community.upsert_places(demo_data.PLACES)
        for person in demo_data.RESIDENTS:
            try:
                residents.append(rpc.community.register_resident(person))
                added += 1
            except RemoteError as exc:
                if exc.exc_type != "Conflict":
                    raise
                residents.append(rpc.community.find_resident(person["id_number"]))
    return {"places": places, "residents_added": added, "residents": residents}
