"""``suite calendar load|show``: the working-day schedule (holidays and make-up days) per year."""
from __future__ import annotations

import sys

from infra.cli import common


def cmd_calendar(args) -> int:
    from nameko.exceptions import RemoteError

    from infra.imports.files import ImportFileError, json_document

    from services.community import calendar_source

    settings = common.settings()
    with common.rpc(settings) as rpc:
        if args.action == "show":
            years = rpc.community.calendar_years()
            print("working-day schedules loaded for: " + (", ".join(map(str, years)) or "no year"))
            return 0
        if args.file:
            try:
                data = json_document(args.file)
            except ImportFileError as exc:
                print(exc, file=sys.stderr)
                return 1
            schedules = data if isinstance(data, list) else [data]
        else:
            years = args.year or calendar_source.package_years()
            try:
                schedules = [calendar_source.to_json(calendar_source.from_package(y)) for y in years]
            except calendar_source.YearNotInPackage as exc:
                print(f"{exc}: load that year from the State Council's notice with "
                      f"`suite calendar load FILE.json` (see the README)", file=sys.stderr)
                return 1
        for schedule in schedules:
            try:
                done = rpc.community.load_calendar_year(schedule)
            except RemoteError as exc:
                return common.refused(exc.value)
            print(f"{done['year']}: {done['holidays']} days off, {done['makeup_workdays']} make-up working days"
                  + (f"; deadlines set for {done['deadlines_set']} waiting cases" if done.get("deadlines_set") else ""))
    return 0


def add_calendar(sub) -> None:
    cal = sub.add_parser("calendar", help="the working-day schedule (holidays and make-up days) per year")
    cal.add_argument("action", choices=["load", "show"])
    cal.add_argument("file", nargs="?", help="an operator JSON file {year, holidays, makeup_workdays, source} "
                                             "(or a list of them); default: the years the chinesecalendar "
                                             "package knows")
    cal.add_argument("--year", type=int, action="append", help="with no file: only this year (repeatable)")
    cal.set_defaults(func=cmd_calendar)
