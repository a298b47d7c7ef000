"""Sign-in sessions, free of I/O: what staff's console sessions and residents' portal sessions
have in common. A session's id (32 random bytes, urlsafe) lives only in its holder's signed
cookie; the store keeps its sha256, so a copy of the database opens no session. Every time is
a ``stamp``: UTC in one fixed format, compared and ranged as strings on every store."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timezone

SESSION_ID_BYTES = 32


def new_session_id() -> str:
    return secrets.token_urlsafe(SESSION_ID_BYTES)


def session_key(session_id: str) -> str:
    """What a session is stored under (never its id)."""
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def plausible_id(session_id) -> bool:
    """Worth looking up: a text of the length our ids have (anything else is no session)."""
    return isinstance(session_id, str) and 20 <= len(session_id) <= 100


def stamp(moment: datetime) -> str:
    """UTC, one fixed format: compared and ranged as strings on every store."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
