"""``suite import``: places, residents, a MARC 21 catalogue or a OneRoster folder, through the
services (``infra/imports/`` reads the files)."""
from __future__ import annotations

import sys

from infra.cli import common


def cmd_import(args) -> int:
    from infra.imports.files import ImportFileError

    try:
        return _import(args)
    except ImportFileError as exc:  # a file we cannot take: say why, no trace
        print(f"import refused: {exc}", file=sys.stderr)
        return 1


def _import(args) -> int:
    from pathlib import Path

    from infra.imports import community

    settings = common.settings()
    path = Path(args.file)
    with common.rpc(settings) as rpc:
        if args.kind == "places":
            n = community.import_places(rpc, path)
            print(f"imported {n}, rejected 0")
            return 0
        if args.kind == "marc":
            from infra.imports import marc
            imported, rejected = marc.import_marc(rpc, path)
        elif args.kind == "roster":
            from infra.imports import roster
            imported, rejected = roster.import_roster(rpc, path)
        else:
            imported, rejected = community.import_residents(rpc, path)
    if rejected:
        print(f"rejected {'records' if args.kind == 'marc' else 'rows'} of {path}:")
        community.print_rejections(rejected, unit="record" if args.kind == "marc" else "line")
    print(f"imported {imported}, rejected {len(rejected)}")
    return 0 if not rejected else 1


def add_import(sub) -> None:
    imp = sub.add_parser("import", help="import places (JSON or CSV) or residents (CSV) into community, "
                                        "or a MARC 21 catalogue (binary .mrc or MARCXML) into library")
    imp.add_argument("kind", choices=["places", "residents", "marc", "roster"])
    imp.add_argument("file", help="places: JSON list or CSV code,kind,name,parent; residents: CSV "
                                  "id_number,name,phone,registered_committee,residence_committee,address; "
                                  "roster: a folder of OneRoster 1.1 CSV (orgs, academicSessions, classes, "
                                  "users, enrollments) into elearning; marc: MARC 21 binary (.mrc) or MARCXML "
                                  "(.xml) into library")
    imp.set_defaults(func=cmd_import)
