"""``suite deploy``, ``topology``, ``broker``: the broker topology (and the database indexes),
as declared queues or as RabbitMQ definitions, and RabbitMQ itself."""
from __future__ import annotations

import sys

from infra.cli import common


def cmd_deploy(args) -> int:
    from infra.local import runner

    settings = common.settings()
    queues = runner.deploy(settings)
    print(f"declared {len(queues)} queues and every service's indexes")
    return 0


def cmd_topology(args) -> int:
    from infra import broker_definitions

    settings = common.settings()
    queue_type = args.queue_type or settings.queue_type
    if args.action == "definitions":
        user = tuple(args.user.split(":", 1)) if args.user else None
        if user is not None and len(user) != 2:
            print("--user takes NAME:PASSWORD", file=sys.stderr)
            return 2
        # with LINKED_DISTRICTS set, its queues and shovels too (the checked-in file is made without)
        print(broker_definitions.render(broker_definitions.build(
            queue_type, args.vhost, user=user, district=settings.district_code,
            linked=settings.linked_districts)), end="")
        return 0
    queues = broker_definitions.apply(settings.amqp_uri, queue_type)
    print(f"imported the definitions and checked {len(queues)} {queue_type} queues")
    return 0


def cmd_broker(args) -> int:
    from infra.local import broker

    settings = common.settings()
    broker.ensure_running(settings.amqp_uri)
    if args.management:
        broker.ensure_management()
    print("RabbitMQ answers" + (" (management API too)" if args.management else ""))
    return 0


def add_deploy(sub) -> None:
    sub.add_parser("deploy", help="declare the broker topology and the database indexes"
                   ).set_defaults(func=cmd_deploy)


def add_topology(sub) -> None:
    topo = sub.add_parser("topology", help="the broker topology as RabbitMQ definitions: print them, or import "
                                           "them through the management API and check them (a cluster)")
    topo.add_argument("action", choices=["definitions", "apply"])
    topo.add_argument("--queue-type", choices=["classic", "quorum"], help="default: QUEUE_TYPE (classic)")
    topo.add_argument("--vhost", default="/", help="definitions: the virtual host (apply: AMQP_URI's)")
    topo.add_argument("--user", help="definitions: NAME:PASSWORD of a user to include (compose's guest:guest)")
    topo.set_defaults(func=cmd_topology)


def add_broker(sub) -> None:
    brk = sub.add_parser("broker", help="make sure RabbitMQ answers (start it when installed here)")
    brk.add_argument("--management", action="store_true", help="also enable the management API")
    brk.set_defaults(func=cmd_broker)
