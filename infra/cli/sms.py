"""``suite sms last PHONE``: the last text the file sender wrote to a number (a sign-in code,
in development and demos, where ``SMS_SENDER`` is ``file``)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from services.community import sms


def cmd_sms(args) -> int:
    path = Path(sms.outbox_path({}))
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    found = [m for m in map(json.loads, lines) if m.get("to") == args.phone]
    if not found:
        print(f"no text to {args.phone} in {path} (ask for a code on the portal's sign-in page first)",
              file=sys.stderr)
        return 1
    print(found[-1]["text"])
    print(f"(sent {found[-1]['at']})")
    return 0


def add_sms(sub) -> None:
    p = sub.add_parser("sms", help="texts the development SMS sender wrote (SMS_SENDER=file): the last to a number")
    p.add_argument("action", choices=["last"])
    p.add_argument("phone")
    p.set_defaults(func=cmd_sms)
