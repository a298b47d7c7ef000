"""Refuse abusive queries before they run: a depth limit, a cost limit (fields, multiplied
by the size of the lists they sit in), and introspection that configuration can turn off.
They are graphql-core validation rules, run with the standard ones.

What is a list comes from the schema's types, not from field names. A list's size is its
page argument when the query writes it as a number; a page asked for through a variable,
whose value validation does not see, counts at the resolver's cap (``PAGE_CAPS``); a list
the data sizes counts as ``LIST_SIZES`` says, else ``LIST_DEFAULT``.
"""
from __future__ import annotations

from graphql import (FieldNode, FragmentDefinitionNode, GraphQLError, GraphQLInterfaceType, GraphQLList,
                     GraphQLNonNull, GraphQLObjectType, IntValueNode, NullValueNode, OperationDefinitionNode,
                     ValidationRule)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef

from gateway.schema.paging import LIST_SIZES, PAGE_CAPS, page_size
from gateway.selections import fields_below

LIST_DEFAULT = 20     # what a list sized by the data is assumed to hold
PAGE_ARGS = ("first", "limit")
UNKNOWN_CAP = 1000    # a page argument missing from PAGE_CAPS (a test keeps there being none)
META_FIELDS = {"__schema": SchemaMetaFieldDef, "__type": TypeMetaFieldDef, "__typename": TypeNameMetaFieldDef}


def depth(node, fragments) -> int:
    """Levels of fields: ``{ me { name } }`` is 2."""
    fields = [f for f, _ in fields_below(node, fragments) if isinstance(f, FieldNode)]
    return 0 if not fields else 1 + max(depth(f, fragments) for f in fields)


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
    total = 0
    for field, on in fields_below(node, fragments, parent, schema):
        if not isinstance(field, FieldNode):
            continue
        total += multiplier
        if not field.selection_set:
            continue
        definition = META_FIELDS.get(field.name.value) or (
            on.fields.get(field.name.value) if isinstance(on, (GraphQLObjectType, GraphQLInterfaceType)) else None)
        if definition is None:  # an unknown field: the standard rules report it
            continue
        named, is_list = _unwrap(definition.type)
        coordinate = f"{getattr(on, 'name', '')}.{field.name.value}"  # no type: a subscription (none here)
        asked = _page(field, definition, coordinate)
        if is_list:
            size, below = asked or page or LIST_SIZES.get(coordinate, LIST_DEFAULT), None
        elif asked:
            size, below = asked, 1
        else:
            size, below = 1, page
        total += cost(field, fragments, schema, named, multiplier * size, below)
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
