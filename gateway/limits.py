"""Refuse abusive queries before they run: a depth limit, a cost limit (fields, multiplied
by the page size of the lists they sit in), and introspection that configuration can turn off.
They are graphql-core validation rules, run with the standard ones."""
from __future__ import annotations

from graphql import (FieldNode, FragmentDefinitionNode, FragmentSpreadNode, GraphQLError, InlineFragmentNode,
                     OperationDefinitionNode, ValidationRule)

LIST_DEFAULT = 20     # what an unbounded list is assumed to hold
PAGE_ARGS = ("first", "limit")


def _selections(node, fragments):
    for sel in (node.selection_set.selections if node.selection_set else []):
        if isinstance(sel, FragmentSpreadNode):
            frag = fragments.get(sel.name.value)
            if frag is not None:
                yield from _selections(frag, fragments)
        elif isinstance(sel, InlineFragmentNode):
            yield from _selections(sel, fragments)
        else:
            yield sel


def depth(node, fragments) -> int:
    """Levels of fields: ``{ me { name } }`` is 2."""
    fields = [f for f in _selections(node, fragments) if isinstance(f, FieldNode)]
    return 0 if not fields else 1 + max(depth(f, fragments) for f in fields)


def cost(node, fragments, multiplier=1) -> int:
    total = 0
    for field in _selections(node, fragments):
        if not isinstance(field, FieldNode):
            continue
        total += multiplier
        if field.selection_set:
            size = next((int(a.value.value) for a in field.arguments or []
                         if a.name.value in PAGE_ARGS and hasattr(a.value, "value") and str(a.value.value).isdigit()),
                        None)
            total += cost(field, fragments, multiplier * (size or LIST_DEFAULT if _is_list(field) else 1))
    return total


def _is_list(field: FieldNode) -> bool:
    # a selection with a page argument, or a plural name, is treated as a list
    return any(a.name.value in PAGE_ARGS for a in field.arguments or []) or field.name.value.endswith("s")


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
                c = cost(op, fragments)
                if c > max_cost:
                    self.report_error(GraphQLError(f"query cost {c} is over the limit of {max_cost}", op,
                                                   extensions={"code": "QUERY_TOO_COMPLEX"}))

    class NoIntrospection(ValidationRule):
        def enter_field(self, node: FieldNode, *_):
            if node.name.value in ("__schema", "__type"):
                self.report_error(GraphQLError("introspection is turned off here", node,
                                               extensions={"code": "FORBIDDEN"}))

    return [Limits] if introspection else [Limits, NoIntrospection]
