"""The GraphQL schema (graphene 3). Resolvers only call services; rules live there."""
from __future__ import annotations

import graphene

from gateway import fanout
from services.common.config import SERVICES


class ServiceHealth(graphene.ObjectType):
    service = graphene.String(required=True)
    status = graphene.String(required=True, description="up, down (a part is down) or unavailable")
    broker = graphene.String()
    store = graphene.String()
    detail = graphene.String()


class Query(graphene.ObjectType):
    health = graphene.List(graphene.NonNull(ServiceHealth), required=True,
                           description="Each service's health, asked of all services at once")

    def resolve_health(root, info):
        ctx = info.context
        waits = {s: fanout.call(ctx.services[s], s, "health", timeout=ctx.rpc_timeout) for s in SERVICES}
        out = []
        for service, wait in waits.items():
            try:
                report = wait()
                detail = "; ".join(f"{k}: {v}" for k, v in report.get("detail", {}).items()) or None
                out.append(ServiceHealth(service=service, status=report["status"], broker=report["broker"],
                                         store=report["store"], detail=detail))
            except fanout.Unavailable as exc:
                out.append(ServiceHealth(service=service, status="unavailable", detail=str(exc)))
        return out


schema = graphene.Schema(query=Query)
