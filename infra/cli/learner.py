"""``suite learner export|erase``: a learner's records (erasure off unless the elearning service
runs with LEARNER_ERASURE=true)."""
from __future__ import annotations

import json
import sys

from infra.cli import common


def cmd_learner(args) -> int:
    settings = common.settings()
    with common.rpc(settings) as rpc:
        if args.action == "export":
            records = rpc.elearning.export_learner(args.resident_id)
            text = json.dumps(records, ensure_ascii=False, indent=2, default=str)
            if args.out:
                with open(args.out, "w", encoding="utf-8") as f:
                    f.write(text)
                print(f"wrote {args.out}")
            else:
                print(text)
            return 0
        if args.confirm != args.resident_id:
            print("erasure cannot be undone: repeat the resident id with --confirm", file=sys.stderr)
            return 2
        done = rpc.elearning.erase_learner(args.resident_id, args.request_ref or "",
                                           f"operator:{common.operator()}")
    print(f"erased: {done['counts']} (kept in the ledger under {done['pseudonym']})")
    return 0


def add_learner(sub) -> None:
    ln = sub.add_parser("learner", help="a learner's records: export them, or erase them on a verified request "
                                        "(off unless the elearning service runs with LEARNER_ERASURE=true)")
    ln.add_argument("action", choices=["export", "erase"])
    ln.add_argument("resident_id")
    ln.add_argument("--out", help="export: write the JSON here")
    ln.add_argument("--request-ref", help="erase: the reference of the verified request")
    ln.add_argument("--confirm", help="erase: the resident id again")
    ln.set_defaults(func=cmd_learner)
