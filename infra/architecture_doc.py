"""The generated parts of ``docs/ARCHITECTURE.md``: the events between the services (from
``contracts/`` and the handlers the services declare) and the rooms of the house (every
module with the first line of its docstring).

``python -m infra.architecture_doc`` rewrites the parts between their markers;
``--check`` fails when the document is stale (a test runs it), so the map cannot drift
from the code. The prose around the markers is written by hand.
"""
from __future__ import annotations

import argparse
import ast
import inspect
import re
import sys
from collections import defaultdict
from pathlib import Path

from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from contracts.registry import EVENTS
from services.common.inbox import InboxEventHandler

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "docs" / "ARCHITECTURE.md"
# the folders whose modules are listed, in the order a newcomer meets them
ROOMS = ("contracts", "services/common", "services/community", "services/library", "services/elearning",
         "gateway", "infra")


def consumers() -> dict[str, list[str]]:
    """event type -> the ``service.method`` handlers that consume it."""
    from infra.topology import SERVICE_CLASSES, load_class

    found: dict[str, list[str]] = defaultdict(list)
    for service, path in SERVICE_CLASSES.items():
        for method, fn in inspect.getmembers(load_class(path), inspect.isfunction):
            for ep in getattr(fn, ENTRYPOINT_EXTENSIONS_ATTR, ()):
                if isinstance(ep, InboxEventHandler):
                    for event_type in ep.accept:
                        found[event_type].append(f"{service}.{method}")
    return found


def events_table() -> str:
    taken = consumers()
    rows = ["| event type | published by | consumed by | contract |", "|---|---|---|---|"]
    for event_type, (service, model) in sorted(EVENTS.items()):
        by = ", ".join(f"`{c}`" for c in sorted(taken.get(event_type, []))) or "none in the suite"
        rows.append(f"| `{event_type}` | {service} | {by} | `{model.__module__}.{model.__name__}` |")
    return "\n".join(rows)


def _first_line(path: Path) -> str:
    """The first sentence of the module's docstring."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    paragraph = re.sub(r"\s+", " ", doc.strip().split("\n\n")[0])
    return re.split(r"(?<=[.:;])\s", paragraph, maxsplit=1)[0]


def modules(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py")
                  if "__pycache__" not in p.parts and not (p.name == "__init__.py" and p.stat().st_size < 200))


def rooms_list() -> str:
    out = []
    for folder in ROOMS:
        out.append(f"**`{folder}/`**\n")
        for path in modules(folder):
            if any(path.relative_to(ROOT).as_posix().startswith(other + "/") for other in ROOMS
                   if other != folder and other.startswith(folder + "/")):
                continue   # listed under its own folder
            rel = path.relative_to(ROOT / folder).as_posix()
            out.append(f"- `{rel}` — {_first_line(path) or '(no docstring)'}")
        out.append("")
    return "\n".join(out).rstrip()


PARTS = {"events": events_table, "rooms": rooms_list}


def render(text: str) -> str:
    for name, make in PARTS.items():
        begin, end = f"<!-- generated:{name} -->", f"<!-- end:{name} -->"
        pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
        if not pattern.search(text):
            raise ValueError(f"{DOCUMENT.name} has no {begin} ... {end} part")
        text = pattern.sub(lambda _: f"{begin}\n{make()}\n{end}", text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.architecture_doc", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the document's generated parts are stale")
    args = parser.parse_args(argv)
    current = DOCUMENT.read_text(encoding="utf-8")
    wanted = render(current)
    if args.check:
        if wanted != current:
            print("docs/ARCHITECTURE.md is out of date: run `make docs`", file=sys.stderr)
            return 1
        return 0
    DOCUMENT.write_text(wanted, encoding="utf-8")
    print("wrote docs/ARCHITECTURE.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
