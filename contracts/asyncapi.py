"""The AsyncAPI 3.0 document of every event and RPC payload, generated from the registry.

``python -m contracts.asyncapi`` writes ``contracts/asyncapi.json``;
``python -m contracts.asyncapi --check`` fails when the checked-in file is stale.
Nothing here lists a type by hand: a model registered in ``contracts.registry`` shows
up on the next generation, and the check catches a forgotten one.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Iterator

from pydantic import BaseModel

from contracts.envelope import CloudEvent
from contracts.events.interdistrict import OUT_EXCHANGE
from contracts.registry import EVENTS, RPCS

# Bump when the message contracts change in a way readers should notice.
DOCUMENT_VERSION = "0.1.0"

DOCUMENT_PATH = Path(__file__).with_name("asyncapi.json")
_REPO_ROOT = DOCUMENT_PATH.parent.parent
_REF = "#/components/schemas/{model}"
_SERVER = "rabbitmq"
# nameko's serializer is JSON; the envelope travels in CloudEvents structured mode.
_CONTENT_TYPE = "application/json"


def _add_schema(schemas: dict[str, Any], model: type[BaseModel]) -> str:
    """Put ``model``'s schema (and its nested ``$defs``) into ``schemas``; return its key."""
    schema = model.model_json_schema(ref_template=_REF)
    found = schema.pop("$defs", {})
    found[model.__name__] = schema
    for name, definition in found.items():
        # Two different models with one class name would silently overwrite each other.
        if schemas.setdefault(name, definition) != definition:
            raise ValueError(f"two different schemas are both named {name!r}")
    return model.__name__


def _ref(*parts: str) -> dict[str, str]:
    return {"$ref": "#/" + "/".join(parts)}


def build_document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    envelope = _add_schema(schemas, CloudEvent)

    for event_type, (service, model) in sorted(EVENTS.items()):
        schema = _add_schema(schemas, model)
        exchange = getattr(model, "EXCHANGE", f"{service}.events")
        messages[event_type] = {
            "name": event_type,
            "title": model.__name__,
            "summary": f"Published by {service} on exchange {exchange}",
            "contentType": _CONTENT_TYPE,
            "payload": {"allOf": [
                _ref("components", "schemas", envelope),
                # The envelope types ``data`` as any object; pin it to this event's model.
                {"type": "object",
                 "properties": {"type": {"const": event_type},
                                "data": _ref("components", "schemas", schema)}},
            ]},
        }
        # nameko's routing key is the event type; a device's is its own (kiosk.<id>.<kind>)
        address = getattr(model, "ROUTING_KEY", event_type)
        channels[event_type] = {
            "address": address,
            **({"parameters": {"kiosk_id": {"description": "the kiosk's id; its broker user is kiosk-<id>, "
                                                           "and it must set the AMQP user_id property to it"}}}
               if "{kiosk_id}" in address else {}),
            **({"parameters": {"to_district": {"description": "the receiving district's code; a shovel carries "
                                                              "the message to that district's interdistrict.in"}}}
               if "{to_district}" in address else {}),
            **({"description": sys.modules[model.__module__].__doc__ or ""} if hasattr(model, "ROUTING_KEY") else {}),
            "servers": [_ref("servers", _SERVER)],
            "messages": {event_type: _ref("components", "messages", event_type)},
            "bindings": {"amqp": {
                "is": "routingKey",
                "exchange": {"name": exchange, "type": "direct" if exchange == OUT_EXCHANGE else "topic", "durable": True,
                             "autoDelete": False, "vhost": "/"},
                "bindingVersion": "0.3.0",
            }},
        }
        operations[f"{service}.publish.{event_type}"] = {
            "action": "send",
            "summary": f"{service} publishes {event_type}",
            "tags": [{"name": service}],
            "channel": _ref("channels", event_type),
            "messages": [_ref("channels", event_type, "messages", event_type)],
        }

    for name, model in sorted(RPCS.items()):
        schema = _add_schema(schemas, model)
        messages[f"rpc.{name}"] = {
            "name": f"rpc.{name}",
            "title": model.__name__,
            "summary": "RPC payload, carried on the nameko-rpc topic exchange "
                       "(routing key <service>.<method>)",
            "contentType": _CONTENT_TYPE,
            "payload": _ref("components", "schemas", schema),
        }

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Smart Community Suite messages",
            "version": DOCUMENT_VERSION,
            "description": "Events (CloudEvents 1.0 envelopes on each service's "
                           "`<service>.events` topic exchange) and RPC payloads. "
                           "Generated by `python -m contracts.asyncapi`; do not edit.",
        },
        "defaultContentType": _CONTENT_TYPE,
        "servers": {_SERVER: {
            "host": "127.0.0.1:5672",
            "protocol": "amqp",
            "protocolVersion": "0.9.1",
            "description": "Local development broker; production is a RabbitMQ cluster.",
        }},
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _differences(old: Any, new: Any, path: str = "", depth: int = 3) -> Iterator[str]:
    """Dotted paths where ``old`` and ``new`` differ, no deeper than ``depth`` keys."""
    if old == new:
        return
    if depth == 0 or not (isinstance(old, dict) and isinstance(new, dict)):
        yield f"{path or '<document>'} changed"
        return
    for key in sorted(old.keys() | new.keys()):
        where = f"{path}.{key}" if path else key
        if key not in new:
            yield f"{where} removed"
        elif key not in old:
            yield f"{where} added"
        else:
            yield from _differences(old[key], new[key], where, depth - 1)


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(_REPO_ROOT.resolve()).as_posix()
    except ValueError:
        return str(path)


def check(path: Path = DOCUMENT_PATH) -> list[str]:
    """Problems with the checked-in document; empty when it is up to date."""
    expected = render(build_document())
    try:
        actual = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [f"{_display(path)} is missing"]
    if actual == expected:
        return []
    try:
        details = list(_differences(json.loads(actual), json.loads(expected)))
    except json.JSONDecodeError as exc:
        details = [f"not valid JSON: {exc}"]
    return details or ["formatting differs"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.asyncapi", description=__doc__)
    parser.add_argument("--check", action="store_true",
                        help="fail if the document on disk differs from the generated one")
    parser.add_argument("--path", type=Path, default=DOCUMENT_PATH,
                        help="document to write or check (default: %(default)s)")
    args = parser.parse_args(argv)

    if args.check:
        problems = check(args.path)
        if problems:
            print(f"{_display(args.path)} is out of date; run `make contracts`", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            return 1
        return 0

    text = render(build_document())   # before opening: a build that fails leaves the file as it was
    with open(args.path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(f"wrote {_display(args.path)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
