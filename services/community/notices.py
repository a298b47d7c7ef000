"""Notices to residents (receipt, supplement request, completion, rejection), free of I/O.

Default templates ship in ``templates/`` and are trusted. Staff may replace a matter's
template with their own text; that text is untrusted, so it is checked when saved
(``check_template``) and always rendered in a locked-down sandbox (``render_custom``):

* statically: no loading of other templates, no ``_`` names or attributes, only known
  context variables, only an allowlist of filters, no ``{% autoescape %}`` switch;
* at run time: only allowlisted callables, bounded ``range``, every value, string and
  output capped in size, and a per-render budget of loop iterations, calls and time.

Rendered text is plain (first non-empty line is the title), with values HTML-escaped.
"""
from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.filters import do_join, do_replace, make_attrgetter
from jinja2.runtime import Context, LoopContext, Macro, Undefined
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from jinja2.utils import Cycler, Joiner, pass_context, pass_eval_context
from jinja2.visitor import NodeTransformer

from services.common.clock import DISTRICT_TIME

KINDS = ("receipt", "supplement", "completion", "rejection")

#: Every variable a notice template may use; all are strings except ``missing_materials``.
CONTEXT_KEYS = ("resident_name", "case_id", "case_number", "matter_name", "accepting_desk",
                "handling_committee", "accepted_on", "deadline", "missing_materials",
                "reason", "note", "today")

#: Kind-specific variables: required for their own kind, empty for the others.
KIND_KEYS = {"supplement": ("missing_materials",), "rejection": ("reason",)}
_EMPTY = {"deadline": "", "note": "", "missing_materials": (), "reason": ""}

TEMPLATES_DIR = Path(__file__).with_name("templates")

MAX_SOURCE_CHARS = 10_000
MAX_OUTPUT_CHARS = 20_000
MAX_VALUE_SIZE = 20_000      # characters of a string, or items + characters of a container
MAX_NUMBER = 10**18
MAX_RANGE = 1_000
MAX_STEPS = 10_000           # loop iterations plus calls, per render
MAX_SECONDS = 0.5            # per render


class TemplateRefused(ValueError):
    """A staff template that may not be saved or rendered; the message says why."""


@dataclass(frozen=True)
class Notice:
    kind: str
    title: str
    body: str


# --- the default templates ---------------------------------------------------------

_DEFAULT_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR, encoding="utf-8"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=False,
    trim_blocks=True,       # plain text: block tags must not leave blank lines behind
    lstrip_blocks=True,
)


def render_default(kind: str, context: Mapping[str, Any]) -> Notice:
    """The notice from the shipped template; a missing required variable raises UndefinedError."""
    template = _DEFAULT_ENV.get_template(f"{_known(kind)}.j2")
    return _to_notice(kind, template.render(_with_defaults(kind, context)))


def default_source(kind: str) -> str:
    """The shipped template's text, the starting point for a staff edit."""
    return (TEMPLATES_DIR / f"{_known(kind)}.j2").read_text(encoding="utf-8")


def sample_context(kind: str) -> dict[str, Any]:
    """A realistic context for trial renders and previews."""
    context: dict[str, Any] = {
        "resident_name": "王秀兰",
        "case_id": "6f1c2a9e0b7d4e55a1c3f0e2d4b6a8c0",
        "case_number": "C0101-20261125-0007",
        "matter_name": "高龄老人津贴申请",
        "accepting_desk": "南京东路街道社区事务受理服务中心",
        "handling_committee": "贵州路居民区居民委员会",
        "accepted_on": "2026年11月25日",
        "deadline": "2026年12月9日",
        "note": "请保持预留电话畅通。",
        "today": "2026年11月25日",
    }
    if kind == "supplement":
        context["missing_materials"] = ["户口簿原件及复印件", "本人社会保障卡复印件"]
    if kind == "rejection":
        context["reason"] = "经核查，申请人户籍不在本街道，不符合本事项的申请条件。"
    return _with_defaults(_known(kind), context)


def _known(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}; expected one of {', '.join(KINDS)}")
    return kind


def _with_defaults(kind: str, context: Mapping[str, Any]) -> dict[str, Any]:
    # Optional and other kinds' variables default to empty so every template may mention
    # them; the kind's own variables (a rejection's reason) stay required.
    own = KIND_KEYS.get(kind, ())
    defaults = {key: value for key, value in _EMPTY.items() if key not in own}
    return {**defaults, **context}


def _to_notice(kind: str, text: str) -> Notice:
    """First non-empty line is the title; the rest (blank runs collapsed) is the body."""
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        raise TemplateRefused("the template renders nothing: its first line must be the title")
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines[1:])).strip("\n")
    return Notice(kind=kind, title=lines[0].strip(), body=body)


# --- the sandbox for staff templates -------------------------------------------------

def _value_size(value: Any, limit: int = MAX_VALUE_SIZE) -> int:
    """Characters plus items, counting shared parts each time (as printing would); stops past limit."""
    size, stack = 0, [value]
    while stack and size <= limit:
        item = stack.pop()
        size += 1
        if isinstance(item, str):
            size += len(item)
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
    return size


def _checked(value: Any) -> Any:
    """The value, unless it is too big to keep (doubling tricks end here)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_NUMBER:
        raise SecurityError(f"number too large (over {MAX_NUMBER})")
    if isinstance(value, (str, Mapping, list, tuple, set, frozenset)):
        if _value_size(value) > MAX_VALUE_SIZE:
            raise SecurityError(f"value too large (over {MAX_VALUE_SIZE} characters)")
    return value


class _Budget:
    """Work allowed to one render: steps (loop iterations and calls) and wall time."""

    def __init__(self) -> None:
        self.steps = 0
        self.deadline = time.monotonic() + MAX_SECONDS

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise SecurityError(f"the template does too much work (over {MAX_STEPS} loop iterations and calls)")
        if time.monotonic() > self.deadline:
            raise SecurityError(f"the template takes too long to render (over {MAX_SECONDS} s)")


def _budget_of(context: Context) -> _Budget:
    budget = context.get("_budget")
    if not isinstance(budget, _Budget):
        raise SecurityError("rendered without a budget")  # only render_custom may render
    return budget


def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise SecurityError(f"range too large ({len(numbers)} items, at most {MAX_RANGE})")
    return numbers


@pass_context
def _guard(context: Context, iterable: Iterable[Any]) -> Iterator[Any]:
    """Wraps every for loop's iterable (see _Rewrite) so each iteration spends budget."""
    budget = _budget_of(context)
    for item in iterable:
        budget.step()
        yield item


@pass_eval_context
def _join(eval_ctx: Any, value: Iterable[Any], d: str = "", attribute: str | int | None = None) -> str:
    items = list(value)
    if attribute is not None:
        getter = make_attrgetter(eval_ctx.environment, attribute)
        items = [getter(item) for item in items]
    # Estimate first: joining 20,000 characters with a long separator is a memory bomb.
    estimate = sum(_value_size(str(item)) for item in items) + len(str(d)) * len(items)
    if estimate > MAX_VALUE_SIZE:
        raise SecurityError(f"join result too large (over {MAX_VALUE_SIZE} characters)")
    return do_join(eval_ctx, items, d)


@pass_eval_context
def _replace(eval_ctx: Any, s: str, old: str, new: str, count: int | None = None) -> str:
    text, old, new = str(s), str(old), str(new)
    hits = text.count(old) if count is None else min(text.count(old), max(count, 0))
    if len(text) + hits * max(len(new) - len(old), 0) > MAX_VALUE_SIZE:
        raise SecurityError(f"replace result too large (over {MAX_VALUE_SIZE} characters)")
    return do_replace(eval_ctx, s, old, new, count)


_SAFE_FILTERS = ("abs", "capitalize", "count", "d", "default", "dictsort", "e", "escape",
                 "first", "float", "int", "items", "last", "length", "list", "lower", "map",
                 "max", "min", "reject", "rejectattr", "reverse", "round", "select",
                 "selectattr", "sort", "string", "striptags", "sum", "title", "trim",
                 "truncate", "unique", "upper", "wordcount")
_CAPPED_FILTERS = {"join": _join, "replace": _replace}

# Methods a template may call on context values (all read-only, output bounded by input).
_STR_METHODS = frozenset({"capitalize", "count", "endswith", "find", "isdigit", "isspace",
                          "lower", "lstrip", "rstrip", "split", "splitlines", "startswith",
                          "strip", "title", "upper"})
_DICT_METHODS = frozenset({"get", "items", "keys", "values"})
_SEQUENCE_METHODS = frozenset({"count", "index"})
_HELPER_METHODS = {LoopContext: frozenset({"cycle", "changed"}), Cycler: frozenset({"next", "reset"})}


def _may_call(obj: Any) -> bool:
    if isinstance(obj, (Macro, LoopContext, Joiner, Undefined)):  # Undefined raises when called
        return True
    if any(obj is safe for safe in _SAFE_CALLABLES):
        return True
    owner, name = getattr(obj, "__self__", None), getattr(obj, "__name__", "")
    if isinstance(owner, str):
        return name in _STR_METHODS
    if isinstance(owner, dict):
        return name in _DICT_METHODS
    if isinstance(owner, (list, tuple)):
        return name in _SEQUENCE_METHODS
    return any(isinstance(owner, cls) and name in names for cls, names in _HELPER_METHODS.items())


class _NoticeSandbox(SandboxedEnvironment):
    """The sandbox with an allowlist of callables and size checks on everything that grows."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        _budget_of(context).step()
        if not _may_call(obj):
            name = getattr(obj, "__name__", type(obj).__name__)
            raise SecurityError(f"calling {name!r} is not allowed in notice templates")
        return _checked(super().call(context, obj, *args, **kwargs))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _check_operands(operator, left, right)
        return _checked(super().call_binop(context, operator, left, right))


def _check_operands(operator: str, left: Any, right: Any) -> None:
    """Refuse before computing: 'x' * 10**9 must not be built just to be measured."""
    sized = (str, list, tuple)
    if operator == "%" and isinstance(left, str):
        raise SecurityError("string formatting with % is not allowed; join text with ~")
    numbers = isinstance(left, (int, float)) and isinstance(right, (int, float))
    if operator == "**" and numbers and (abs(right) > 64 or abs(left) > 10**12):
        raise SecurityError("power too large")
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, sized) and isinstance(times, int) and len(seq) * times > MAX_VALUE_SIZE:
                raise SecurityError(f"repeated value too large (over {MAX_VALUE_SIZE} characters)")
    if operator == "+" and isinstance(left, sized) and isinstance(right, sized):
        if len(left) + len(right) > MAX_VALUE_SIZE:
            raise SecurityError(f"value too large (over {MAX_VALUE_SIZE} characters)")


_SANDBOX = _NoticeSandbox(autoescape=True, undefined=jinja2.StrictUndefined,
                          keep_trailing_newline=False, trim_blocks=True, lstrip_blocks=True)
_SANDBOX.filters = {name: _SANDBOX.filters[name] for name in _SAFE_FILTERS}
_SANDBOX.filters.update(_CAPPED_FILTERS)
_SANDBOX.filters["_checked"] = _checked
# No lipsum (CPU), no namespace (state carried across loop iterations); range is bounded.
_SANDBOX.globals = {"range": _bounded_range, "dict": dict, "cycler": Cycler, "joiner": Joiner,
                    "_guard": _guard, "_checked": _checked}
_PUBLIC_GLOBALS = frozenset(name for name in _SANDBOX.globals if not name.startswith("_"))
_PUBLIC_FILTERS = frozenset(_SAFE_FILTERS) | frozenset(_CAPPED_FILTERS)
_SAFE_CALLABLES = (_bounded_range, dict, Cycler, Joiner, _guard, _checked)


class _Rewrite(NodeTransformer):
    """Inserts the run-time guards: loops spend budget, built values are size-checked."""

    def visit_For(self, node: nodes.For) -> nodes.For:
        self.generic_visit(node)
        node.iter = _call_global("_guard", node.iter)
        return node

    def visit_AssignBlock(self, node: nodes.AssignBlock) -> nodes.AssignBlock:
        self.generic_visit(node)
        # {% set x %}...{% endset %}: the captured text passes the size check as a filter.
        node.filter = nodes.Filter(node.filter, "_checked", [], [], None, None, lineno=node.lineno)
        return node

    def _checked_expr(self, node: nodes.Expr) -> nodes.Expr:
        self.generic_visit(node)
        return _call_global("_checked", node)

    visit_Concat = visit_List = visit_Tuple = visit_Dict = _checked_expr


def _call_global(name: str, arg: nodes.Expr) -> nodes.Call:
    lineno = arg.lineno
    return nodes.Call(nodes.Name(name, "load", lineno=lineno), [arg], [], None, None, lineno=lineno)


# --- checking and rendering staff templates ------------------------------------------

_LOADING_TAGS = {nodes.Include: "include", nodes.Import: "import",
                 nodes.FromImport: "from ... import", nodes.Extends: "extends"}


def check_template(source: str) -> None:
    """Refuse (TemplateRefused) a staff template that is unsafe, broken or too costly."""
    _compiled(source)


def render_custom(kind: str, source: str, context: Mapping[str, Any]) -> Notice:
    """The notice from a staff template, checked and rendered in the sandbox."""
    template = _compiled(source)
    try:
        text = _render_limited(template, _with_defaults(_known(kind), context))
    except SecurityError as exc:
        raise TemplateRefused(f"template refused: {exc}") from None
    except RecursionError:
        raise TemplateRefused("template refused: it recurses too deeply") from None
    return _to_notice(kind, text)


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> jinja2.Template:
    """Checked once per distinct source (static checks, trial renders), then reused."""
    if not isinstance(source, str):
        raise TemplateRefused("the template must be text")
    if len(source) > MAX_SOURCE_CHARS:
        raise TemplateRefused(f"the template is too long ({len(source)} characters, at most {MAX_SOURCE_CHARS})")
    tree = _parse(source)
    _check_tree(tree)
    template = _SANDBOX.from_string(_Rewrite().visit(tree))
    for kind in KINDS:
        _trial(template, kind)
    return template


def _parse(source: str) -> nodes.Template:
    try:
        return _SANDBOX.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateRefused(f"syntax error on line {exc.lineno}: {exc.message}") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer literal too long to read
        raise TemplateRefused(f"the template cannot be read: {exc}") from None


def _check_tree(tree: nodes.Template) -> None:
    for node in tree.find_all(nodes.Node):
        problem = _node_problem(node)
        if problem:
            raise TemplateRefused(f"{problem} (line {node.lineno})")
    unknown = sorted(meta.find_undeclared_variables(tree) - set(CONTEXT_KEYS) - _PUBLIC_GLOBALS)
    if unknown:
        raise TemplateRefused(f"unknown variable(s): {', '.join(unknown)}; "
                              f"notice templates may use {', '.join(CONTEXT_KEYS)}")


def _node_problem(node: nodes.Node) -> str | None:
    """Why this node may not appear in a staff template, or None."""
    if type(node) in _LOADING_TAGS:
        return f"{{% {_LOADING_TAGS[type(node)]} %}} is not allowed: notice templates cannot load other templates"
    if isinstance(node, (nodes.EvalContextModifier, nodes.ScopedEvalContextModifier)):
        return "{% autoescape %} is not allowed: values are always escaped"
    if isinstance(node, nodes.Filter) and node.name not in _PUBLIC_FILTERS:
        return f"filter {node.name!r} is not allowed"
    if isinstance(node, nodes.Test) and node.name not in _SANDBOX.tests:
        return f"test {node.name!r} is unknown"
    if isinstance(node, nodes.Name) and node.name == "self":  # the template object itself
        return "'self' is not available in notice templates"
    for name in _names_in(node):
        if name.startswith("_"):
            return f"names starting with '_' are not allowed ({name!r})"
    return None


def _names_in(node: nodes.Node) -> list[str]:
    """Variable, attribute and key names a node refers to (attribute paths split at dots)."""
    if isinstance(node, (nodes.Name, nodes.Macro)):
        return [node.name]
    if isinstance(node, (nodes.Getattr, nodes.NSRef)):
        return [node.attr]
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return [node.arg.value]
    if isinstance(node, nodes.Filter):  # map(attribute='__class__'), sort(attribute=...)
        return [part for kw in node.kwargs if kw.key == "attribute" and isinstance(kw.value, nodes.Const)
                for part in str(kw.value.value).split(".")]
    return []


def _trial(template: jinja2.Template, kind: str) -> None:
    try:
        text = _render_limited(template, sample_context(kind))
    except SecurityError as exc:
        raise TemplateRefused(f"unsafe or too costly: {exc}") from None
    except jinja2.UndefinedError as exc:
        raise TemplateRefused(f"undefined value in a {kind} notice: {exc.message}") from None
    except RecursionError:
        raise TemplateRefused("the template recurses too deeply") from None
    except Exception as exc:  # any other failure: the template is broken for this kind
        raise TemplateRefused(f"the template fails for a {kind} notice: {type(exc).__name__}: {exc}") from None
    _to_notice(kind, text)


def _render_limited(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    """Streams the output so an oversized notice is stopped, not built."""
    parts, size = [], 0
    for chunk in template.generate({**context, "_budget": _Budget()}):
        size += len(chunk)
        if size > MAX_OUTPUT_CHARS:
            raise SecurityError(f"the notice is too long (over {MAX_OUTPUT_CHARS} characters)")
        parts.append(chunk)
    return "".join(parts)


def context_for(case: Mapping[str, Any], event_data: Mapping[str, Any], place_names: Mapping[str, str],
                today: date) -> dict:
    """The template context of a case event on the district's ``today``: the case as stored,
    the event's own words."""
    return {
        "resident_name": case["resident_name"],
        "case_id": case["_id"],
        "case_number": case["number"],
        "matter_name": case["matter_name"],
        "accepting_desk": place_names.get(case["accepting_desk"], case["accepting_desk"]),
        "handling_committee": place_names.get(event_data["handling_committee"], event_data["handling_committee"]),
        "accepted_on": case.get("accepted_on") or "",
        "deadline": event_data.get("deadline") or "",
        "missing_materials": list(event_data.get("missing_materials") or case.get("missing_materials") or []),
        "reason": event_data.get("note") or "",
        "note": event_data.get("note") or "",
        "today": today.isoformat(),
    }


FACT_KINDS = ("loan_overdue", "loan_recalled", "hold_ready", "digital_hold_ready", "credits_awarded", "course_completed",
              "wallet_low_balance", "wallet_limit_refused", "teacher_message", "assignment_published")

def local_time(iso: str | None, with_time: bool = True) -> str:
    """An event's ISO time as residents read it (``2026年11月25日 18:00``), in the district's
    time whatever the server's zone; empty stays empty."""
    if not iso:
        return ""
    at = datetime.fromisoformat(iso).astimezone(DISTRICT_TIME)
    day = f"{at.year}年{at.month}月{at.day}日"
    return f"{day} {at:%H:%M}" if with_time else day


def render_fact(kind: str, context: Mapping[str, Any]) -> Notice:
    """Notices of other services' facts (overdue, hold ready, credits): shipped templates
    only, not staff-editable."""
    if kind not in FACT_KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    return _to_notice(kind, _DEFAULT_ENV.get_template(f"{kind}.j2").render(context))
