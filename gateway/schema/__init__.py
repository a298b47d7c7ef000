"""The GraphQL schema (graphene 3). Resolvers check who is asking and call services;
the rules live in the services.

Where things are: ``asking`` (who is asking: ``principal``, ``actor``, ``guardian``,
``calls``), ``paging`` (page caps and list sizes, shared with ``gateway/limits.py``),
``places`` (``Place``); the types of each area in ``community``, ``library``, ``learning``
and ``schoolbag``, their mutations in ``<area>_mutations``; ``me`` (the signed-in resident
and how its parts are fetched at once); the roots in ``query`` and ``mutation``; ``schema``,
assembled here. A type shown from a service's dict has a ``Type.of(dict)``: that mapping is
written there alone.
"""
from __future__ import annotations

import graphene

from gateway.schema.mutation import Mutation
from gateway.schema.query import Query

schema = graphene.Schema(query=Query, mutation=Mutation)
