"""Refuse abusive queries before they run: a depth limit, a cost limit (fields, multiplied
by the size of the lists they sit in), a limit on the service calls (RPCs) a query makes, and
introspection measured apart (by what the schema holds) that configuration can turn off.
They are graphql-core validation rules, run with the standard ones; each fragment is worked
out once, however often it is spread.

What is a list comes from the schema's types, not from field names. A list's size is its
page argument when the query writes it as a number; a page asked for through a variable,
whose value validation does not see, counts at the resolver's cap (``PAGE_CAPS``); a list
the data sizes counts as ``LIST_SIZES`` says, else ``LIST_DEFAULT``.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from graphql import (FieldNode, FragmentDefinitionNode, FragmentSpreadNode, GraphQLError, GraphQLList,
                     GraphQLInterfaceType, GraphQLNonNull, GraphQLObjectType, InlineFragmentNode, IntValueNode,
                     NullValueNode, OperationDefinitionNode, ValidationRule, is_abstract_type)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef

from gateway.schema.paging import LIST_SIZES, PAGE_CAPS, SERVICE_CALLS, page_size

LIST_DEFAULT = 20     # what a list sized by the data is assumed to hold
PAGE_ARGS = ("first", "limit")
UNKNOWN_CAP = 1000    # a page argument missing from PAGE_CAPS (a test keeps there being none)
META_FIELDS = {"__schema": SchemaMetaFieldDef, "__type": TypeMetaFieldDef, "__typename": TypeNameMetaFieldDef}


def _selections(node):
    return node.selection_set.selections if node.selection_set else []


def _on(fragment, parent, schema):
    if schema is None or fragment.type_condition is None:
        return parent
    return schema.get_type(fragment.type_condition.name.value) or parent


def _entered(spread_node: FragmentSpreadNode, fragments, spread: frozenset):
    """The fragment a spread enters; None when it is unknown or already being spread (a
    cycle is the standard rules' to report)."""
    name = spread_node.name.value
    return None if name in spread else fragments.get(name)


def depth(node, fragments, memo: dict | None = None, spread: frozenset = frozenset()) -> int:
    """Levels of fields: ``{ me { name } }`` is 2. Each fragment's depth is worked out once
    (``memo``): a fragment spread twice at each of 20 levels is 20 steps, not 2^20."""
    memo = {} if memo is None else memo
    deepest = 0
    for sel in _selections(node):
        if isinstance(sel, FieldNode) and sel.name.value in ("__schema", "__type"):
            continue   # a question about the schema: its size is measured apart (``Work.introspection``)
        if isinstance(sel, FragmentSpreadNode):
            frag = _entered(sel, fragments, spread)
            if frag is None:
                continue
            name = frag.name.value
            if name not in memo:
                memo[name] = depth(frag, fragments, memo, spread | {name})
            deepest = max(deepest, memo[name])
        elif isinstance(sel, InlineFragmentNode):
            deepest = max(deepest, depth(sel, fragments, memo, spread))
        else:
            deepest = max(deepest, 1 + depth(sel, fragments, memo, spread))
    return deepest


def _unwrap(type_):
    """(the named type, whether a list is on the way)."""
    is_list = False
    while isinstance(type_, (GraphQLNonNull, GraphQLList)):
        is_list = is_list or isinstance(type_, GraphQLList)
        type_ = type_.of_type
    return type_, is_list


def _page(field: FieldNode, definition, coordinate: str) -> int | None:
    """The page size a field's page argument stands for: a number written in the query as
    asked (more than the cap is refused as too costly rather than quietly cut), a variable at
    the resolver's cap, none at the default."""
    names = [name for name in PAGE_ARGS if name in definition.args]
    if not names:
        return None
    cap = PAGE_CAPS.get(coordinate, UNKNOWN_CAP)
    arg = next((a for a in field.arguments or [] if a.name.value in names), None)
    default = definition.args[names[0]].default_value
    default = default if isinstance(default, int) else None
    if arg is None:
        return page_size(default, cap)
    if isinstance(arg.value, IntValueNode):
        return max(1, int(arg.value.value))
    if isinstance(arg.value, NullValueNode):
        return page_size(default, cap)
    return cap  # a variable: its value is not known here, so the most it can be


class Work(NamedTuple):
    """What a query asks of the gateway and the services, each linear in how often its part
    runs: data fields, service calls (RPCs) and introspection fields."""
    fields: int = 0
    calls: int = 0
    introspection: int = 0

    def __add__(self, other):
        return Work(self.fields + other.fields, self.calls + other.calls, self.introspection + other.introspection)

    def times(self, n: int) -> "Work":
        return Work(self.fields * n, self.calls * n, self.introspection * n)


def introspection_sizes(schema) -> dict[str, float]:
    """What each introspection list holds on average in this schema, so that a question about
    the schema costs about what answering it costs (GraphiQL's own question, about 4,000
    fields here, is measured at about 7,000; each level of ``fields { type { fields ...`` asked
    again multiplies it)."""
    named = list(schema.type_map.values())
    def mean(lists):
        lists = list(lists)
        return sum(len(v) for v in lists) / max(1, len(lists))
    with_fields = [t for t in named if hasattr(t, "fields")]
    fields = [f for t in with_fields if not hasattr(t, "out_type") for f in t.fields.values()]
    return {
        "__Schema.types": len(named), "__Schema.directives": len(schema.directives),
        "__Type.fields": mean(t.fields for t in with_fields if not hasattr(t, "out_type")),
        "__Type.inputFields": mean(t.fields for t in with_fields if hasattr(t, "out_type")),
        "__Type.enumValues": mean(t.values for t in named if hasattr(t, "values")),
        "__Type.interfaces": mean(t.interfaces for t in named if hasattr(t, "interfaces")),
        "__Type.possibleTypes": mean(schema.get_possible_types(t) for t in named if is_abstract_type(t)),
        "__Field.args": mean(f.args for f in fields),
        "__Directive.args": mean(d.args for d in schema.directives),
    }


def cost(node, fragments, schema, parent, multiplier: int = 1, page: int | None = None) -> int:
    """Fields times the items of the lists they sit in. A page argument on a page object
    (the staff queue's) multiplies all it holds, and the list inside it then counts once:
    ``page`` carries that 1 down to it."""
    return math.ceil(work(node, fragments, schema, parent, page).times(multiplier).fields)


def work(node, fragments, schema, parent, page: int | None = None) -> Work:
    return _work_once(node, fragments, schema, parent, page, {}, frozenset(), _sizes_of(schema))


_SIZES: dict[int, dict[str, int]] = {}


def _sizes_of(schema) -> dict[str, int]:
    if schema is None:
        return {}
    if id(schema) not in _SIZES:   # one schema per process; tests build a few
        _SIZES[id(schema)] = introspection_sizes(schema)
    return _SIZES[id(schema)]


def _work_once(node, fragments, schema, parent, page, memo: dict, spread: frozenset, sizes: dict) -> Work:
    """The work of one pass over ``node``'s selections (it is linear in the multiplier, so a
    fragment's is worked out once per type and page, kept in ``memo``, and multiplied)."""
    total = Work()
    for sel in _selections(node):
        if isinstance(sel, FragmentSpreadNode):
            frag = _entered(sel, fragments, spread)
            if frag is None:
                continue
            on = _on(frag, parent, schema)
            key = (frag.name.value, getattr(on, "name", None), page)
            if key not in memo:
                memo[key] = _work_once(frag, fragments, schema, on, page, memo, spread | {frag.name.value}, sizes)
            total += memo[key]
            continue
        if isinstance(sel, InlineFragmentNode):
            total += _work_once(sel, fragments, schema, _on(sel, parent, schema), page, memo, spread, sizes)
            continue
        field = sel
        coordinate = f"{getattr(parent, 'name', '')}.{field.name.value}"  # no type: a subscription (none here)
        about_schema = field.name.value.startswith("__") or coordinate.startswith("__")
        total += Work(introspection=1) if about_schema else Work(fields=1, calls=_calls_of(coordinate, parent,
                                                                                              schema))
        if not field.selection_set:
            continue
        definition = META_FIELDS.get(field.name.value) or (
            parent.fields.get(field.name.value) if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType))
            else None)
        if definition is None:  # an unknown field: the standard rules report it
            continue
        named, is_list = _unwrap(definition.type)
        asked = _page(field, definition, coordinate)
        if is_list:
            size = asked or page or sizes.get(coordinate, LIST_SIZES.get(coordinate, LIST_DEFAULT))
            below = None
        elif asked:
            size, below = asked, 1
        else:
            size, below = 1, page
        total += _work_once(field, fragments, schema, named, below, memo, spread, sizes).times(size)
    return total


def _calls_of(coordinate: str, parent, schema) -> int:
    """The service calls resolving this field makes: as ``SERVICE_CALLS`` says; a mutation
    not listed makes one."""
    if coordinate in SERVICE_CALLS:
        return SERVICE_CALLS[coordinate]
    return 1 if schema is not None and parent is schema.mutation_type else 0


def operation_work(op: OperationDefinitionNode, fragments, schema) -> Work:
    """The work of one operation, in whole numbers (introspection lists count at their mean)."""
    root = {"query": schema.query_type, "mutation": schema.mutation_type,
            "subscription": schema.subscription_type}[op.operation.value]
    return Work(*(math.ceil(n) for n in work(op, fragments, schema, root)))


def operation_cost(op: OperationDefinitionNode, fragments, schema) -> int:
    return operation_work(op, fragments, schema).fields


def limit_rules(max_depth: int, max_cost: int, introspection: bool, max_calls: int = 20,
                max_introspection: int = 50_000) -> list[type[ValidationRule]]:
    class Limits(ValidationRule):
        def enter_document(self, document, *_):
            fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
            for op in document.definitions:
                if not isinstance(op, OperationDefinitionNode):
                    continue
                d = depth(op, fragments)
                if d > max_depth:
                    self._refuse(f"query depth {d} is over the limit of {max_depth}", op)
                    continue  # a deep query's cost walk is not needed, nor cheap
                asked = operation_work(op, fragments, self.context.schema)
                if asked.fields > max_cost:
                    self._refuse(f"query cost {asked.fields} is over the limit of {max_cost}", op)
                if asked.calls > max_calls:
                    self._refuse(f"the query would make {asked.calls} service calls, over the limit of "
                                 f"{max_calls}: ask for fewer things at once", op)
                if asked.introspection > max_introspection:
                    self._refuse(f"the schema question costs {asked.introspection}, over the limit of "
                                 f"{max_introspection}", op)

        def _refuse(self, message: str, op) -> None:
            self.report_error(GraphQLError(message, op, extensions={"code": "QUERY_TOO_COMPLEX"}))

    class NoIntrospection(ValidationRule):
        def enter_field(self, node: FieldNode, *_):
            if node.name.value in ("__schema", "__type"):
                self.report_error(GraphQLError("introspection is turned off here", node,
                                               extensions={"code": "FORBIDDEN"}))

    return [Limits] if introspection else [Limits, NoIntrospection]
