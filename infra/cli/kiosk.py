"""``suite kiosk add|remove|simulate``: broker accounts for kiosks, and a load simulation
(``infra/kiosk/`` holds the accounts and the simulator)."""
from __future__ import annotations

import sys

from infra.cli import common


def cmd_remove(args) -> int:
    from infra.kiosk import accounts

    accounts.remove_kiosk(args.kiosk_id)
    print(f"removed the broker user of kiosk {args.kiosk_id}")
    return 0


def cmd_add(args) -> int:
    from infra import rabbitmq_admin
    from infra.kiosk import accounts

    settings = common.settings()
    try:
        user, password = accounts.add_kiosk(settings.amqp_uri, args.kiosk_id)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except rabbitmq_admin.ManagementUnavailable as exc:
        print(str(exc), file=sys.stderr)
        return 1
    uri = accounts.kiosk_uri(settings.amqp_uri, user, "PASSWORD").replace(":PASSWORD@", "@", 1)
    print(f"kiosk {args.kiosk_id}: broker user {user} on vhost {accounts.vhost_of(settings.amqp_uri)!r}, "
          f"may publish kiosk.{args.kiosk_id}.* to kiosk.events and nothing else")
    print(f"its AMQP URI (put the password below after the user name, {user}:PASSWORD@...):")
    print(uri)
    print(f"password of {user} (shown once; `suite kiosk add` again resets it):")
    print(password)
    return 0


def cmd_simulate(args) -> int:
    from infra.kiosk import simulator

    settings = common.settings()
    with common.rpc(settings) as rpc:
        print(f"preparing {args.kiosks} kiosks, {args.copies} copies, {args.patrons} patrons ...", flush=True)
        fixtures = simulator.prepare_fixtures(rpc, args.kiosks, args.copies, args.patrons)
        report = simulator.simulate(
            settings.amqp_uri, args.kiosks, args.events, args.rate, args.duplicates, args.reorder, args.offline,
            args.seed, copies=fixtures.copies, patrons=fixtures.patrons, kiosk_ids=fixtures.kiosk_ids,
            titles=fixtures.titles, search_texts=fixtures.search_texts, keep_accounts=args.keep_accounts,
            log=lambda msg: print("  " + msg, flush=True))
        mismatches = simulator.verify_until(report, rpc, timeout=args.settle, amqp_uri=settings.amqp_uri)
        conflicts = simulator.library_conflicts(report, rpc)
    on_loan = sum(s.status == simulator.ON_LOAN for s in report.oracle.values())
    print(f"run {fixtures.run}: kiosks {', '.join(report.kiosk_ids)} "
          f"(offline for a while: {', '.join(report.offline_kiosks) or 'none'})")
    print(f"sent        {report.sent}  (in {report.seconds:.1f} s)")
    print(f"duplicates  {report.duplicates}")
    print(f"reordered   {report.reordered}")
    print(f"replayed    {report.replayed}  (at most {report.buffered_peak} buffered at once)")
    print(f"applied     {report.applied}  (state changes per the oracle; {on_loan} copies end on loan)")
    print(f"conflicts   {len(conflicts)}  (the oracle expects {report.oracle_conflicts})")
    print(f"lost        {report.lost}")
    print(f"mismatches  {len(mismatches)}")
    for line in mismatches[:20]:
        print("  " + line)
    return 1 if mismatches or report.lost or len(conflicts) != report.oracle_conflicts else 0


def add_kiosk(sub) -> None:
    kiosk_sub = common.subcommands(sub.add_parser("kiosk", help="24-hour library kiosks: broker accounts, load "
                                                                "simulation"), "kiosk_command")
    add = kiosk_sub.add_parser("add", help="create (or reset) a kiosk's broker user on the vhost of AMQP_URI; "
                                           "print its AMQP URI, and its password alone on the last line")
    add.add_argument("kiosk_id", metavar="KIOSK_ID", help="1-32 letters, digits, '-' or '_' (its library location code)")
    add.set_defaults(func=cmd_add)
    remove = kiosk_sub.add_parser("remove", help="delete a kiosk's broker user (a kiosk taken out of service)")
    remove.add_argument("kiosk_id", metavar="KIOSK_ID")
    remove.set_defaults(func=cmd_remove)
    sim = kiosk_sub.add_parser("simulate", help="make test kiosks, copies and patrons, replay a story of "
                                                "borrowing through the broker with duplicates, reordering and "
                                                "offline kiosks, and check the library ends as it should")
    sim.add_argument("--kiosks", type=common.positive, default=3)
    sim.add_argument("--events", type=common.positive, default=200)
    sim.add_argument("--rate", type=float, default=50.0, help="events a second (0: as fast as possible)")
    sim.add_argument("--duplicates", type=common.share, default=0.1, help="share of events sent twice")
    sim.add_argument("--reorder", type=common.share, default=0.1,
                     help="share of events swapped with their kiosk's next")
    sim.add_argument("--offline", type=common.share, default=0.2,
                     help="share of kiosks offline for a while (then replay)")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--copies", type=common.positive, default=None, help="default: 4 per kiosk")
    sim.add_argument("--patrons", type=common.positive, default=5)
    sim.add_argument("--settle", type=float, default=30.0, help="seconds to wait for the library to agree")
    sim.add_argument("--keep-accounts", action="store_true", help="keep the kiosks' broker users afterwards")
    sim.set_defaults(func=lambda args: cmd_simulate(_with_defaults(args)))


def _with_defaults(args):
    if args.copies is None:
        args.copies = 4 * args.kiosks
    return args
