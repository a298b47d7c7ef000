"""The LRS's clients against the elearning database: ``xapi_clients``, ``_id`` = client name
(the Basic user), ``key_hash``, ``read_only``, ``version`` (the xAPI version it last spoke)."""
from __future__ import annotations

from pymongo.database import Database

from services.common import clock
from services.elearning.xapi.clients import credentials_match
from services.elearning.xapi.errors import XapiError

CLIENTS = "xapi_clients"


def add_client(db: Database, name: str, key_hash: str, read_only: bool) -> dict:
    created_at = clock.now().isoformat()
    db[CLIENTS].insert_one({"_id": name, "key_hash": key_hash, "read_only": bool(read_only),
                            "created_at": created_at})
    return {"client": name, "read_only": bool(read_only), "created_at": created_at}


def authenticate(db: Database, credentials: str) -> dict:
    """The client whose ``key:secret`` this is, or 401."""
    name = credentials.split(":", 1)[0]
    doc = db[CLIENTS].find_one({"_id": name})
    if not credentials_match(credentials, doc.get("key_hash") if doc else None):
        raise XapiError(401, "invalid credentials", {"WWW-Authenticate": 'Basic realm="xAPI", charset="UTF-8"'})
    return doc


def note_version(db: Database, client: dict, version: str | None) -> None:
    """Remember the version a client speaks (written only when it changes): a refusal of
    its request that names no version claims that one (``answers.serve``)."""
    if version and client.get("version") != version:
        db[CLIENTS].update_one({"_id": client["_id"]}, {"$set": {"version": version}})
