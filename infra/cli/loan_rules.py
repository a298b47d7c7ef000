"""``suite loan-rules show|load``: the library's loan rules; an operator's named rules."""
from __future__ import annotations

import sys

from infra.cli import common


def cmd_loan_rules(args) -> int:
    from nameko.exceptions import RemoteError

    from infra.imports.files import ImportFileError, json_document

    settings = common.settings()
    with common.rpc(settings) as rpc:
        if args.action == "load":
            if not args.file:
                print("load needs a JSON file: suite loan-rules load FILE.json", file=sys.stderr)
                return 2
            try:
                rules = json_document(args.file)
            except ImportFileError as exc:
                print(exc, file=sys.stderr)
                return 1
            try:
                stored = rpc.library.put_loan_rules(rules)
            except RemoteError as exc:
                print(f"refused, nothing stored: {exc.value}", file=sys.stderr)
                return 1
            print(f"stored {len(stored)} loan rules: {', '.join(stored)}")
            return 0
        for r in rpc.library.loan_rules():
            print(f"{r['name']:<16} {r['patron_type']:>8} × {r['material_type']:<10} × {r['location_kind']:<8} "
                  f"limit {r['item_limit']:>3}  {r['loan_days']:>3} days  renewals {r['renewals']}  "
                  f"recall {r['recall_days']}  fine {r['fine_cents_per_day']} fen/day")
    return 0


def add_loan_rules(sub) -> None:
    rules = sub.add_parser("loan-rules", help="the library's loan rules: show them, or load an operator's rules "
                                              "from a JSON file {name: {patron_type, material_type, ...}}")
    rules.add_argument("action", choices=["show", "load"])
    rules.add_argument("file", nargs="?", help="load: the JSON file")
    rules.set_defaults(func=cmd_loan_rules)
