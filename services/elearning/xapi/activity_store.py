"""The LRS's activity definitions against the elearning database: ``xapi_activities``,
``_id`` = the digest of the activity id, ``id`` = the id itself, ``definition`` = the merged
one (see ``activities``) as JSON text (extension keys are IRIs, with dots a document store
may not take in a field name), ``v`` = a counter that each change compares and sets."""
from __future__ import annotations

import json

import pymongo
from pymongo.database import Database

from services.common.storage import once
from services.elearning.xapi.activities import definitions, merge_definition
from services.elearning.xapi.agents import digest
from services.elearning.xapi.statement_store import ORDER_PREFIX, STATEMENTS

ACTIVITIES = "xapi_activities"
ATTEMPTS = 8
BUILD_PAGE = 500


def remember_definitions(db: Database, statements: list[dict]) -> int:
    """Merge the definitions newly stored statements carry into the known ones: one read per
    activity, and a write only when the definition changes. Returns the activities changed."""
    changed = 0
    for activity_id, new in definitions(statements).items():
        key = digest(activity_id)
        for _ in range(ATTEMPTS):
            known = db[ACTIVITIES].find_one({"_id": key})
            if known is not None and known.get("id") != activity_id:
                break                                   # a digest shared by another id: keep the first
            old = json.loads(known["definition"]) if known else None
            merged = merge_definition(old, new)
            if merged == old:
                break
            text = json.dumps(merged, ensure_ascii=False, separators=(",", ":"))
            if known is None:
                try:
                    db[ACTIVITIES].insert_one({"_id": key, "id": activity_id, "definition": text, "v": 1})
                except pymongo.errors.DuplicateKeyError:
                    continue
            elif not db[ACTIVITIES].update_one({"_id": key, "v": known["v"]},
                                               {"$set": {"definition": text, "v": known["v"] + 1}}).matched_count:
                continue
            changed += 1
            break
    return changed


def known_definition(db: Database, activity_id: str) -> dict | None:
    doc = db[ACTIVITIES].find_one({"_id": digest(activity_id)})
    return json.loads(doc["definition"]) if doc and doc.get("id") == activity_id else None


def build_definitions(db: Database) -> int | None:
    """A store build (``Store(builds=...)``), once per database: the definitions of the
    statements stored before the LRS kept them, merged in stored order (read a page at a
    time as a range of the indexed ``order``)."""
    def build() -> int:
        changed, after = 0, ORDER_PREFIX
        while True:
            page = list(db[STATEMENTS].find({"order": {"$gt": after, "$lt": ORDER_PREFIX + "~"}},
                                            {"raw": 1, "order": 1}).sort("order", 1).limit(BUILD_PAGE))
            if not page:
                return changed
            changed += remember_definitions(db, [json.loads(d["raw"]) for d in page])
            after = page[-1]["order"]
    return once(db, "xapi_activity_definitions", build)
