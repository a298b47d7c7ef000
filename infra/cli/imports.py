"""``suite import``: places, residents, a MARC 21 catalogue, a OneRoster folder or one digital
resource (an ONIX, MARC or JSON record with ``--media FILE``), through the services (``infra/imports/``
reads the files)."""
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
        if args.kind == "digital":
            return _import_digital(rpc, args, path)
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


def _import_digital(rpc, args, path) -> int:
    from pathlib import Path

    from nameko.exceptions import RemoteError

    from infra.imports import digital
    if not args.media:
        print("import refused: a digital resource needs its file: --media FILE", file=sys.stderr)
        return 2
    licence = {"model": args.licence, "copies": args.copies, "loan_days": args.loan_days}
    try:
        stored = digital.import_digital(rpc, path, Path(args.media), licence, args.content_type)
    except RemoteError as exc:
        print(f"import refused: {exc.value}", file=sys.stderr)
        return 1
    free = f", {stored['available']}/{stored['copies']} copies free" if stored["copies"] else ""
    print(f"imported {stored['resource_id']} 《{stored['title']}》: {stored['kind']}, {stored['content_type']}, "
          f"{stored['size']} bytes, licence {stored['licence']}{free}")
    return 0


def add_import(sub) -> None:
    imp = sub.add_parser("import", help="import places (JSON or CSV) or residents (CSV) into community, "
                                        "or a MARC 21 catalogue (binary .mrc or MARCXML) into library")
    imp.add_argument("kind", choices=["places", "residents", "marc", "roster", "digital"])
    imp.add_argument("file", help="places: JSON list or CSV code,kind,name,parent; residents: CSV "
                                  "id_number,name,phone,registered_committee,residence_committee,address; "
                                  "roster: a folder of OneRoster 1.1 CSV (orgs, academicSessions, classes, "
                                  "users, enrollments) into elearning; marc: MARC 21 binary (.mrc) or MARCXML "
                                  "(.xml) into library; digital: a JSON object (record_id, title, authors...) "
                                  "or an ONIX 3.0 or MARC record describing the file given by --media")
    imp.add_argument("--media", help="digital: the e-book (EPUB, PDF), audio (MP3, M4A) or video (MP4)")
    imp.add_argument("--content-type", help="digital: the file's type (else from its name)")
    imp.add_argument("--licence", choices=["open", "one_reader", "unlimited"], default="one_reader",
                     help="digital: open (anyone), one_reader (one reader per licence copy) or unlimited "
                          "(any card holder)")
    imp.add_argument("--copies", type=int, default=1, help="digital, one_reader: licence copies")
    imp.add_argument("--loan-days", type=int, default=14, help="digital, one_reader: the loan period")
    imp.set_defaults(func=cmd_import)
