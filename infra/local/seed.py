"""Loads the demo data through the services themselves (so events flow as in real use)."""
from __future__ import annotations

from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy

from infra import sip2_cli
from infra.local import demo_data
from services.common import config, local_time
from services.community import calendar_source, catalogue, staff_rpc


def seed(settings: config.Settings) -> dict:
    added, residents = 0, []
    with ClusterRpcProxy({"AMQP_URI": settings.amqp_uri}, timeout=max(settings.rpc_timeout, 10)) as rpc:
        places = rpc.community.upsert_places(demo_data.PLACES)
        matters = rpc.community.upsert_matters(catalogue.MATTERS)
        have = set(rpc.community.calendar_years())
        for year in calendar_source.package_years():
            if year not in have:  # an operator's correction of a year is never overwritten
                rpc.community.load_calendar_year(calendar_source.to_json(calendar_source.from_package(year)))
        for person in demo_data.RESIDENTS:
            try:  # look first: registering someone twice is a (logged) conflict
                residents.append(rpc.community.find_resident(person["id_number"]))
            except RemoteError as exc:
                if exc.exc_type != "NotFound":
                    raise
                residents.append(rpc.community.register_resident(person))
                added += 1
        try:  # a demo clerk of 枫林路居委会 for the staff console
            rpc.community.staff_add(*demo_data.DEMO_CLERK[:3], staff_rpc.hash_password(demo_data.DEMO_CLERK[3]))
        except RemoteError as exc:
            if exc.exc_type != "Conflict":
                raise
        rpc.library.upsert_locations(demo_data.LOCATIONS)
        sip2_cli.seed_demo_account(rpc)  # SIP2 demo machine: login sc-main at MAIN (kept if it exists)
        rpc.library.import_catalogue(demo_data.TITLES)
        known = {c["course_id"] for c in rpc.elearning.search_courses(None, None, None, 50)}
        courses = demo_data.courses(local_time.today())
        new_courses = [c for c in courses if c["course_id"] not in known]  # no new version on re-seed
        if new_courses:
            rpc.elearning.upsert_courses(new_courses)
        demo_card = sip2_cli.seed_demo_pin(rpc, residents[0]["resident_id"])  # its PIN for SIP2 machines
    return {"places": places, "matters": matters, "residents_added": added, "residents": residents,
            "titles": len(demo_data.TITLES), "courses": len(courses), "courses_added": len(new_courses),
            "demo_card": demo_card}
