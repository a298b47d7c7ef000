"""The community service's collections and their indexes (the store functions are in one
module per aggregate: ``places_store``, ``residents_store``, ``cases_store``,
``notices_store``, ``committee_notices_store``, ``staff_store``, ``signin_store``, ``materials_store``,
``open311_store``, ``access_log``, ``calendar_store``)."""
from __future__ import annotations

from pymongo import ASCENDING, IndexModel

from services.common.outbox import OUTBOX_INDEX

RESIDENTS = "residents"
PLACES = "places"
MATTERS = "matters"
CASES = "cases"
COUNTERS = "counters"
CALENDAR = "calendar"
NOTICES = "notices"
STAFF = "staff"
STAFF_SESSIONS = "staff_sessions"
SIGNIN_CODES = "signin_codes"
SIGNIN_COUNTS = "signin_counts"
RESIDENT_SESSIONS = "resident_sessions"
MATERIAL_FILES = "materials.files"      # GridFS (materials_store); its chunks are GridFS's own
OPEN311_CLIENTS = "open311_clients"
OPEN311_REQUESTS = "open311_requests"
ACCESS_LOG = "access_log"
COMMITTEE_NOTICES = "committee_notices"
REFUSED_FORWARDS = "refused_forwards"   # forwards from other districts refused at once, with their reply

INDEXES = {
    RESIDENTS: [
        IndexModel([("id_number", ASCENDING)], name="id_number", unique=True),
        IndexModel([("residence.committee", ASCENDING)], name="residence_committee"),
        IndexModel([("phone", ASCENDING)], name="phone", sparse=True),   # signing in by phone code
        # the committees' 人户分离 lists and the declarations each is to confirm (services/community/moves.py)
        IndexModel([("living_here_key", ASCENDING)], name="living_here_key", sparse=True),
        IndexModel([("registered_here_key", ASCENDING)], name="registered_here_key", sparse=True),
        IndexModel([("pending_key", ASCENDING)], name="pending_key", sparse=True),
        OUTBOX_INDEX,
    ],
    PLACES: [IndexModel([("kind", ASCENDING)], name="kind"), IndexModel([("parent", ASCENDING)], name="parent")],
    MATTERS: [IndexModel([("public", ASCENDING)], name="public")],
    CASES: [
        # the staff queue: one committee's open cases in deadline order, paged by key
        IndexModel([("queue_key", ASCENDING)], name="queue_key", sparse=True),
        IndexModel([("resident_id", ASCENDING)], name="resident"),
        IndexModel([("watch", ASCENDING)], name="deadline_watch", sparse=True),
        IndexModel([("awaiting_calendar", ASCENDING)], name="awaiting_calendar", sparse=True),
        IndexModel([("open_flag", ASCENDING)], name="open_flag", sparse=True),
        IndexModel([("urge_due", ASCENDING)], name="urge_due", sparse=True),   # 督办 waiting: the late ones
        IndexModel([("submitted_at", ASCENDING)], name="submitted_at"),   # Open311's public list
        # the reports (reports_store): each a range of one of these, grouped on the same field
        *[IndexModel([(f"g_{figure}_{scope}", ASCENDING)], name=f"g_{figure}_{scope}", sparse=True)
          for figure in ("cases", "closed", "rated") for scope in "ds"],
        OUTBOX_INDEX,
    ],
    NOTICES: [IndexModel([("resident_id", ASCENDING)], name="resident")],
    STAFF: [IndexModel([("committee", ASCENDING)], name="committee"),
            IndexModel([("identity", ASCENDING)], name="identity", unique=True, sparse=True)],   # console OIDC
    STAFF_SESSIONS: [IndexModel([("login", ASCENDING)], name="login"),
                     IndexModel([("expires_at", ASCENDING)], name="expires_at")],
    MATERIAL_FILES: [IndexModel([("metadata.case_id", ASCENDING)], name="case")],
    SIGNIN_CODES: [IndexModel([("expires_at", ASCENDING)], name="expires_at")],
    SIGNIN_COUNTS: [IndexModel([("expires_at", ASCENDING)], name="expires_at")],
    RESIDENT_SESSIONS: [IndexModel([("resident_id", ASCENDING)], name="resident"),
                        IndexModel([("expires_at", ASCENDING)], name="expires_at")],
    # a token finds the request it was given for
    OPEN311_REQUESTS: [IndexModel([("token", ASCENDING)], name="token", unique=True, sparse=True)],
    ACCESS_LOG: [IndexModel([("resident_id", ASCENDING)], name="resident")],
    COMMITTEE_NOTICES: [IndexModel([("committee", ASCENDING)], name="committee")],
    REFUSED_FORWARDS: [OUTBOX_INDEX],
}

OUTBOX_COLLECTIONS = [RESIDENTS, CASES, REFUSED_FORWARDS]
