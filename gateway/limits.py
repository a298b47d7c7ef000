"""Refuse abusive queries before they run: a depth limit, a cost limit (fields, multiplied
by the size of the lists they sit in), and introspection that configuration can turn off.
They are graphql-core validation rules, run with the standard ones.

What is a list comes from the schema's types, not from field names. A list's size is its
page argument when the query writes it as a number; a page asked for through a variable,
whose value validation does not see, counts at the resolver's cap (``PAGE_CAPS``); a list
the data sizes counts as ``LIST_SIZES`` says, else ``LIST_DEFAULT``.
"""
from __future__ import annotations

from graphql import (FieldNode, FragmentDefinitionNode, FragmentSpreadNode, GraphQLError, GraphQLList,
                     GraphQLInterfaceType, GraphQLNonNull, GraphQLObjectType, InlineFragmentNode, IntValueNode,
                     NullValueNode, OperationDefinitionNode, ValidationRule)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef

from gateway.schema.paging import LIST_SIZES, PAGE_CAPS, page_size

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


def cost(node, fragments, schema, parent, multiplier: int = 1, page: int | None = None) -> int:
    """Fields times the items of the lists they sit in. A page argument on a page object
    (the staff queue's) multiplies all it holds, and the list inside it then counts once:
    ``page`` carries that 1 down to it."""
    return multiplier * _cost_once(node, fragments, schema, parent, page, {}, frozenset())


def _cost_once(node, fragments, schema, parent, page, memo: dict, spread: frozenset) -> int:
    """The cost of one pass over ``node``'s selections (the cost is linear in the multiplier,
    so a fragment's is worked out once per type and page, kept in ``memo``, and multiplied)."""
    total = 0
    for sel in _selections(node):
        if isinstance(sel, FragmentSpreadNode):
            frag = _entered(sel, fragments, spread)
            if frag is None:
                continue
            on = _on(frag, parent, schema)
            key = (frag.name.value, getattr(on, "name", None), page)
            if key not in memo:
                memo[key] = _cost_once(frag, fragments, schema, on, page, memo, spread | {frag.name.value})
            total += memo[key]
            continue
        if isinstance(sel, InlineFragmentNode):
            total += _cost_once(sel, fragments, schema, _on(sel, parent, schema), page, memo, spread)
            continue
        field = sel
        total += 1
        if not field.selection_set:
            continue
        definition = META_FIELDS.get(field.name.value) or (
            parent.fields.get(field.name.value) if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType))
            else None)
        if definition is None:  # an unknown field: the standard rules report it
            continue
        named, is_list = _unwrap(definition.type)
        coordinate = f"{getattr(parent, 'name', '')}.{field.name.value}"  # no type: a subscription (none here)
        asked = _page(field, definition, coordinate)
        if is_list:
            size, below = asked or page or LIST_SIZES.get(coordinate, LIST_DEFAULT), None
        elif asked:
            size, below = asked, 1
        else:
            size, below = 1, page
        total += size * _cost_once(field, fragments, schema, named, below, memo, spread)
    return total


def operation_cost(op: OperationDefinitionNode, fragments, schema) -> int:
    root = {"query": schema.query_type, "mutation": schema.mutation_type,
            "subscription": schema.subscription_type}[op.operation.value]
    return cost(op, fragments, schema, root)


def limit_rules(max_depth: int, max_cost: int, introspection: bool) -> list[type[ValidationRule]]:
    class Limits(ValidationRule):
        def enter_document(self, document, *_):
            fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
            for op in document.definitions:
                if not isinstance(op, OperationDefinitionNode):
                    continue
                d = depth(op, fragments)
                if d > max_depth:
                    self.report_error(GraphQLError(f"query depth {d} is over the limit of {max_depth}", op,
                                                   extensions={"code": "QUERY_TOO_COMPLEX"}))
                    continue  # a deep query's cost walk is not needed, nor cheap
                c = operation_cost(op, fragments, self.context.schema)
                if c > max_cost:
                    self.report_error(GraphQLError(f"query cost {c} is over the limit of {max_cost}", op,
                                                   extensions={"code": "QUERY_TOO_COMPLEX"}))

    class NoIntrospection(ValidationRule):
        def enter_field(self, node: FieldNode, *_):
            if node.name.value in ("__schema", "__type"):
                self.report_error(GraphQLError("introspection is turned off here", node,
                                               extensions={"code": "FORBIDDEN"}))

    return [Limits] if introspection else [Limits, NoIntrospection]
