"""The community service: its dependencies and its entrypoints, one mixin per area.

Callers pass the verified principal as ``actor`` ({id, role, committee}); the rules in
``cases`` decide what that actor may do. Each area's entrypoints parse the payload, call
its rules and its store module, and answer or publish:

- ``places_rpc``: places, matters and their notice templates, the working-day calendar;
- ``residents_rpc``: registration, imports, reads, moves of residence (declared, confirmed, at a desk)
  and the committees' 人户分离 lists;
- ``cases_rpc``: cases, the staff queue, the deadline timer, kiosk faults;
- ``interdistrict_rpc``: cases forwarded from linked districts and their replies to ours;
- ``notices_rpc``: residents' notices of case steps and of other services' facts;
- ``materials_rpc``: files residents upload to their cases;
- ``committee_notices_rpc``: committees' notices (the console's inbox) of moves and cases handed on;
- ``supervision_rpc``: electronic supervision (red and yellow counts, 督办 and answers), ratings;
- ``staff_rpc``: staff accounts and console sessions;
- ``staff_identity_rpc``: staff accounts linked to the district's identity provider;
- ``signin_rpc``: residents signing in to the portal by phone code, their portal sessions;
- ``open311_http``: Open311 GeoReport v2.
"""
from __future__ import annotations

from nameko.dependency_providers import Config

from services.common.health import HealthEntrypoints
from services.common.logs import Correlation
from services.common.metrics import Metrics, Tally
from services.common.outbox import OutboxRelay
from services.common.rpc import RequestKey
from services.common.storage import Store
from services.common.tracing import Tracing
from services.community import cases_store, residents_store, store
from services.community.cases_rpc import CaseEntrypoints
from services.community.committee_notices_rpc import CommitteeNoticeEntrypoints
from services.community.interdistrict_rpc import InterdistrictEntrypoints
from services.community.materials_rpc import MaterialEntrypoints
from services.community.notices_rpc import NoticeEntrypoints
from services.community.open311_http import Open311Entrypoints
from services.community.places_rpc import PlaceEntrypoints
from services.community.reports_rpc import ReportEntrypoints
from services.community.residents_rpc import ResidentEntrypoints
from services.community.signin_rpc import SigninEntrypoints
from services.community.sms import Sms
from services.community.staff_identity_rpc import StaffIdentityEntrypoints
from services.community.staff_rpc import StaffEntrypoints
from services.community.supervision_rpc import SupervisionEntrypoints


class CommunityService(HealthEntrypoints, PlaceEntrypoints, ResidentEntrypoints, CaseEntrypoints,
                       InterdistrictEntrypoints, MaterialEntrypoints, NoticeEntrypoints, CommitteeNoticeEntrypoints,
                       SupervisionEntrypoints, ReportEntrypoints, StaffEntrypoints, StaffIdentityEntrypoints,
                       SigninEntrypoints, Open311Entrypoints):
    name = "community"

    config = Config()
    sms = Sms()
    db = Store(store.INDEXES, builds=(cases_store.rekey_watch, residents_store.build_away_keys))
    relay = OutboxRelay(store.OUTBOX_COLLECTIONS)
    correlation_id = Correlation()
    request_key = RequestKey()
    tracing = Tracing()
    # open cases raised by the deadline timer: a range of one sparse index, not every open case
    metrics = Metrics(Tally(store.CASES, {"open_flag": {"$gt": ""}}, by="open_flag", gauges={
        "due_soon": ("suite_community_cases_near_deadline", "Open cases the deadline timer raised as due soon"),
        "overdue": ("suite_community_cases_past_deadline", "Open cases the deadline timer raised as overdue")}))
