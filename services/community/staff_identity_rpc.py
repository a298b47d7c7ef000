"""Staff signing in to the console through the district's identity provider: an account is
linked to one identity (the provider's issuer and subject, ``suite staff link``), and a
verified ID token of that identity opens a console session of the account. A mixin of
``CommunityService`` (which gives ``self.db``); the gateway checks the token."""
from __future__ import annotations

from services.common import clock
from services.common.errors import BadInput, Forbidden, NotFound
from services.common.rpc import rpc
from services.community import staff, staff_store

MAX_PART = 255


def identity_key(issuer, subject) -> str:
    """What an identity is stored under: the issuer and its subject (a subject is unique only
    within its issuer)."""
    if not isinstance(issuer, str) or not issuer.startswith(("https://", "http://")) or len(issuer) > MAX_PART:
        raise BadInput("issuer is the identity provider's URL")
    if not isinstance(subject, str) or not subject.strip() or len(subject) > MAX_PART:
        raise BadInput("subject is the identity's 'sub' at that provider")
    return f"{issuer.rstrip('/')}|{subject}"


class StaffIdentityEntrypoints:
    """Linking staff accounts to identities; sessions opened by a verified identity."""

    @rpc
    def staff_link_identity(self, login: str, issuer: str, subject: str) -> dict:
        """Link an account to an identity (replacing its earlier link); Conflict when another
        account holds that identity."""
        account = staff_store.link_identity(self.db, staff.check_login(login), identity_key(issuer, subject))
        if account is None:
            raise NotFound(f"no staff account {login}")
        return staff.profile(account)

    @rpc
    def staff_session_for_identity(self, issuer: str, subject: str) -> dict:
        """A console session of the active account linked to this verified identity:
        {login, session_id}; NotFound when no account is linked, Forbidden when it is disabled."""
        account = staff_store.by_identity(self.db, identity_key(issuer, subject))
        if account is None:
            raise NotFound("no staff account is linked to this identity")
        if not staff.is_active(account):
            raise Forbidden("the linked staff account is disabled")
        session_id, session = staff.new_session(account, clock.now())
        staff_store.open_session(self.db, session)
        return {"login": account["_id"], "session_id": session_id}
