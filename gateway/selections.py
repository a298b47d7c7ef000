"""Walking a GraphQL selection: the fields it selects one level down, through fragments.
The limits (``gateway/limits.py``) walk it to measure a query before it runs, ``me``
(``gateway/schema/me.py``) to know which parts of each service's overview to ask for."""
from __future__ import annotations

from graphql import FragmentSpreadNode, InlineFragmentNode


def fields_below(node, fragments, parent=None, schema=None, spread=frozenset()):
    """(field, the type it is selected on) one level down, through fragments. A fragment
    already being spread is not entered again: a cycle is the standard rules' to report."""
    for sel in (node.selection_set.selections if node.selection_set else []):
        if isinstance(sel, FragmentSpreadNode):
            frag = fragments.get(sel.name.value)
            if frag is not None and sel.name.value not in spread:
                yield from fields_below(frag, fragments, _on(frag, parent, schema), schema, spread | {sel.name.value})
        elif isinstance(sel, InlineFragmentNode):
            yield from fields_below(sel, fragments, _on(sel, parent, schema), schema, spread)
        else:
            yield sel, parent


def _on(fragment, parent, schema):
    if schema is None or fragment.type_condition is None:
        return parent
    return schema.get_type(fragment.type_condition.name.value) or parent
