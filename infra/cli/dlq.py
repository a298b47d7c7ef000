"""``suite dlq list|replay``: dead-lettered messages with their reasons; send them back once fixed."""
from __future__ import annotations

import sys

from infra.cli import common


def cmd_dlq(args) -> int:
    from infra import dlq

    settings = common.settings()
    if args.action == "list":
        for service in ([args.service] if args.service else dlq.services()):
            letters = dlq.peek(settings.amqp_uri, service, args.limit)
            print(f"dlq.{service}: {len(letters)} shown")
            for d in letters:
                print(f"  {d['at'] or '-'}  {d['queue'] or d['routing_key']}  attempts={d['attempts'] or '-'}  "
                      f"{d['size']} bytes  {d['reason']}")
                print(f"      {d['prefix']!r}")
        return 0
    if not args.service:
        print("replay needs --service (and optionally --queue)", file=sys.stderr)
        return 2
    n = dlq.replay(settings.amqp_uri, args.service, only_queue=args.queue)
    print(f"replayed {n} message(s) from dlq.{args.service}")
    return 0


def add_dlq(sub) -> None:
    dl = sub.add_parser("dlq", help="dead-lettered messages: list them with their reasons, replay them once fixed")
    dl.add_argument("action", choices=["list", "replay"])
    dl.add_argument("--service", choices=["community", "library", "elearning", "kiosk-unroutable"],
                    help="kiosk-unroutable: kiosk messages no queue took (a kind or version not known)")
    dl.add_argument("--queue", help="replay only the messages that came from this queue")
    dl.add_argument("--limit", type=int, default=50, help="list at most this many per service")
    dl.set_defaults(func=cmd_dlq)
