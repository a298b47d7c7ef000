"""suite: run the Smart Community Suite on one machine, and operate it.

Commands that make a secret print it alone on their last line, so scripts can take it
with ``tail -n 1``.
"""
from __future__ import annotations

import argparse

from infra.cli import (broker, calendar, clients, common, dlq, imports, kiosk, learner, loan_rules, providers, run,
                       school, sip2, sms, staff, terminals, tokens)

# every command, in the order `suite --help` lists them; each module holds its commands' parsers and work
COMMANDS = (run.add_up, run.add_down, run.add_status, run.add_seed, broker.add_deploy, tokens.add_token,
            imports.add_import, calendar.add_calendar, clients.add_open311, clients.add_xapi, staff.add_staff,
            loan_rules.add_loan_rules, kiosk.add_kiosk, sip2.add_sip2,
            terminals.add_terminal, school.add_school, providers.add_provider, dlq.add_dlq, learner.add_learner,
            sms.add_sms,
            run.add_serve, broker.add_topology, broker.add_broker)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="suite", description=__doc__.splitlines()[0].split(": ", 1)[1])
    sub = common.subcommands(parser, "command")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # we know; nameko needs it
    import eventlet

    eventlet.monkey_patch()  # the nameko standalone RPC proxy used by `seed` is eventlet-based
    args = build_parser().parse_args(argv)
    from infra.topology import NamekoWouldBeRefused, QueueDeclaredOtherwise
    try:
        return args.func(args)
    except (QueueDeclaredOtherwise, NamekoWouldBeRefused) as exc:   # an operator's step: say which
        raise SystemExit(f"suite: {exc}") from None
