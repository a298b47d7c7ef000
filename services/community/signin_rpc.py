"""Residents signing in to the portal by phone code, and their portal sessions: the community
service's RPCs (a mixin of ``CommunityService``, which gives ``self.db`` and ``self.sms``).
The rules are in ``signin``; the gateway's portal calls these and keeps the session id in a
signed cookie."""
from __future__ import annotations

import logging
from datetime import timedelta

from nameko.timer import timer

from services.common import clock
from services.common.config import option
from services.common.errors import BadInput, NotFound, StoreUnavailable
from services.common.rpc import rpc
from services.community import residents, residents_store, signin, signin_store
from services.community.sessions import plausible_id, session_key, stamp
from services.community.sms import SmsFailed

log = logging.getLogger(__name__)

GONE = "no such session (signed out or expired)"


def _address(client_address) -> str:
    if not isinstance(client_address, str) or not 1 <= len(client_address) <= 64:
        raise BadInput("client_address is the caller's network address")
    return client_address


class SigninEntrypoints:
    """Phone codes and portal sessions."""

    @rpc
    def signin_code_send(self, phone: str, client_address: str) -> dict:
        """Text a new sign-in code to ``phone`` (any mainland mobile: see ``signin``), within
        the rate limits; RateLimited says when to try again."""
        phone, address, now = signin.check_phone(phone), _address(client_address), clock.now()
        signin.check_gap(signin_store.last_sent(self.db, phone), now)
        hour_end = stamp(now + timedelta(hours=2))
        bucket = signin.hour_bucket(now)
        signin.check_counts(signin_store.count(self.db, f"to:{phone}|{bucket}", hour_end),
                            signin_store.count(self.db, f"from:{address}|{bucket}", hour_end),
                            int(option(self.config, "SIGNIN_CODES_PER_ADDRESS_HOUR", signin.SENDS_PER_HOUR_FROM_ADDRESS)))
        code, challenge = signin.new_challenge(phone, now)
        signin_store.save_challenge(self.db, challenge)
        try:
            self.sms.send(phone, signin.message(code))
        except SmsFailed as exc:
            signin_store.drop_challenge(self.db, phone)   # nothing was sent: asking again must work
            log.warning("sign-in code not sent: %s", exc)
            raise StoreUnavailable("短信暂时无法发送，请稍后再试 (the text could not be sent: try again shortly)") from None
        return {"sent_to": residents.mask_phone(phone), "expires_in": signin.CODE_SECONDS,
                "resend_after": signin.RESEND_GAP_SECONDS}

    @rpc
    def signin_code_verify(self, phone: str, code: str) -> dict:
        """Check a code: ``{resident_id, session_id}`` for the one resident holding the number,
        ``{resident_id: None, why}`` for a number in no record or several; BadInput for a
        wrong, used or expired code (its words say what to do)."""
        phone, code, now = signin.check_phone(phone), signin.check_code(code), clock.now()
        challenge = signin_store.try_code(self.db, phone)
        verdict = signin.judge(challenge, phone, code, now)
        if verdict.spent and challenge is not None and not signin_store.spend(self.db, phone, challenge["digest"]):
            verdict = signin.judge(None, phone, code, now)   # someone else used it a moment ago
        if not verdict.ok:
            raise BadInput(verdict.why)
        resident_id, why = signin.outcome(residents_store.by_phone(self.db, phone))
        if resident_id is None:
            return {"resident_id": None, "why": why}
        session_id, session = signin.new_session(resident_id, "phone", now)
        signin_store.open_session(self.db, session)
        return {"resident_id": resident_id, "session_id": session_id}

    @rpc
    def signin_identity(self, id_number: str | None, phone: str | None) -> dict:
        """A person the district's identity provider vouched for (the gateway checked its ID
        token): matched by ID number, else by a verified phone number the registry holds;
        answered as ``signin_code_verify`` answers."""
        found: list[dict] = []
        if id_number:
            try:
                resident = residents_store.by_id_number(self.db, residents.normalise_id_number(id_number), {"_id": 1})
            except BadInput:
                resident = None
            found = [resident] if resident else []
        if not found and phone:
            try:
                found = residents_store.by_phone(self.db, signin.check_phone(phone))
            except BadInput:   # a number we cannot read matches no one
                found = []
        resident_id, why = signin.outcome(found)
        if resident_id is None:
            return {"resident_id": None, "why": why}
        session_id, session = signin.new_session(resident_id, "oidc", clock.now())
        signin_store.open_session(self.db, session)
        return {"resident_id": resident_id, "session_id": session_id}

    @rpc
    def resident_session_get(self, session_id: str) -> dict:
        """The resident behind a live portal session (its idle clock moves on); NotFound when it
        is unknown, signed out, idle too long or past its 12 hours."""
        if not plausible_id(session_id):
            raise NotFound(GONE)
        key, now = session_key(session_id), clock.now()
        session = signin_store.session(self.db, key)
        if not signin.live(session, now):
            if session is not None:
                signin_store.close_session(self.db, key)
            raise NotFound(GONE)
        moved = signin.touch(session, now)
        if moved:
            signin_store.touch_session(self.db, key, moved)
        return {"resident_id": session["resident_id"], "via": session["via"],
                "expires_at": session["expires_at"]}

    @rpc
    def resident_session_close(self, session_id: str) -> bool:
        """Sign out of this browser (True when there was such a session)."""
        return plausible_id(session_id) and signin_store.close_session(self.db, session_key(session_id))

    @rpc
    def resident_sessions_close_all(self, session_id: str) -> int:
        """Sign out everywhere: every session of the live session's resident; how many ended."""
        who = self.resident_session_get(session_id)
        return signin_store.close_sessions_of(self.db, who["resident_id"])

    @timer(interval=3600)
    def purge_signin(self):
        """Expired codes, counts and sessions never presented again."""
        signin_store.purge(self.db, stamp(clock.now()))
