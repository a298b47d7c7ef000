"""Loads the demo data through the services themselves (so events flow as in real use)."""
from __future__ import annotations

import time

from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy

from infra.local import demo_data, demo_school
from services.common import clock, config
from services.community import calendar_source, catalogue, staff


def seed(settings: config.Settings) -> dict:
    with ClusterRpcProxy({"AMQP_URI": settings.amqp_uri}, timeout=max(settings.rpc_timeout, 10)) as rpc:
        places = rpc.community.upsert_places(demo_data.PLACES)
        matters = rpc.community.upsert_matters(catalogue.MATTERS)
        have = set(rpc.community.calendar_years())
        for year in calendar_source.package_years():
            if year not in have:  # an operator's correction of a year is never overwritten
                rpc.community.load_calendar_year(calendar_source.to_json(calendar_source.from_package(year)))
        # an import answers rows already registered with their reason, where a lookup or a
        # second registration would raise, and the services log every raise as a warning
        imported = rpc.community.import_residents(demo_data.RESIDENTS)
        if problems := [r for r in imported["rejected"] if "already registered" not in r["reason"]]:
            raise RuntimeError(f"the demo residents were refused: {problems}")
        added = imported["imported"]
        residents = [rpc.community.find_resident(person["id_number"]) for person in demo_data.RESIDENTS]
        login, name, committee, password = demo_data.DEMO_CLERK   # a clerk of 梅园一村居委会 for the console
        librarian, librarian_name, librarian_password = demo_data.DEMO_LIBRARIAN
        supervisor, supervisor_name, supervisor_password = demo_data.DEMO_SUPERVISOR
        centre, centre_name, centre_subdistrict, centre_password = demo_data.DEMO_CENTRE_CLERK
        editor, editor_name, editor_password = demo_data.DEMO_EDITOR
        for account in ((login, name, committee, password, "staff", None),
                        (librarian, librarian_name, None, librarian_password, "librarian", None),
                        (editor, editor_name, None, editor_password, "editor", None),
                        (supervisor, supervisor_name, None, supervisor_password, "supervisor", None),
                        (centre, centre_name, None, centre_password, "centre", centre_subdistrict)):
            listed = rpc.community.staff_list(account[2]) if account[2] else rpc.community.staff_list(None, account[4])
            if account[0] in {p["login"] for p in listed}:
                continue
            try:
                rpc.community.staff_add(*account[:3], staff.hash_password(account[3]), account[4], account[5])
            except RemoteError as exc:
                if exc.exc_type != "Conflict":   # kept, though an operator disabled it
                    raise
        rpc.library.upsert_locations(demo_data.LOCATIONS)
        seed_demo_account(rpc)  # SIP2 demo machine: login sc-main at MAIN (kept if it exists)
        rpc.library.import_catalogue(demo_data.TITLES)
        known = {c["course_id"] for c in rpc.elearning.search_courses(None, None, None, 50)}
        courses = demo_data.courses(clock.today())
        new_courses = [c for c in courses if c["course_id"] not in known]  # no new version on re-seed
        if new_courses:
            rpc.elearning.upsert_courses(new_courses)
        demo_card = seed_demo_pin(rpc, residents[0]["resident_id"])  # its PIN for SIP2 machines
        school = demo_school.seed(rpc, demo_data.RESIDENTS[0]["id_number"], clock.today(), settings.var_dir)   # 张伟 a guardian
    return {"places": places, "matters": matters, "residents_added": added, "residents": residents,
            "titles": len(demo_data.TITLES), "courses": len(courses), "courses_added": len(new_courses),
            "demo_card": demo_card, "school": school}


def seed_demo_account(rpc) -> dict:
    """The demo machine account (kept as it is when it exists)."""
    from services.library.sip2 import accounts

    return rpc.library.sip2_add_account(demo_data.DEMO_SIP2_LOGIN, demo_data.DEMO_SIP2_LOCATION,
                                        accounts.hash_password(demo_data.DEMO_SIP2_PASSWORD), "cp850", "keep")


def seed_demo_pin(rpc, resident_id: str, wait: float = 10.0) -> str | None:
    """The demo PIN on the demo resident's card unless a PIN is set already (a PIN the
    resident chose stays). The card is made from the resident's registration event, so it
    may take a moment; its number (None: not made in time)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            patron = rpc.library.get_patron(resident_id)
            break
        except RemoteError as exc:
            if exc.exc_type != "NotFound" or time.monotonic() > deadline:
                return None
            time.sleep(0.2)
    if not patron.get("has_pin"):
        rpc.library.set_patron_pin(resident_id, demo_data.DEMO_PIN, "seed")
    return patron["card_number"]
