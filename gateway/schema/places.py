"""Places (the district, sub-districts, committees, desks) as GraphQL shows them: a code
resolved to its name through the names the gateway keeps (``gateway/place_names.py``)."""
from __future__ import annotations

import graphene

from gateway import place_names
from gateway.schema.asking import calls


class Place(graphene.ObjectType):
    code = graphene.String(required=True)
    name = graphene.String(required=True)
    kind = graphene.String(required=True)
    parent = graphene.String(description="the sub-district or town (街镇) of a committee, the committee of a desk")

    @staticmethod
    def of(p: dict) -> "Place":
        return Place(code=p["code"], name=p["name"], kind=p["kind"], parent=p.get("parent"))


def place(info, code):
    if code is None:
        return None
    p = place_names.kept.get(code, lambda: calls(info).call("community", "list_places")) \
        or {"code": code, "name": code, "kind": "committee"}
    return Place.of(p)
