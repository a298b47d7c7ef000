"""Staff accounts (committee clerks, librarians, centres' clerks, supervisors) and their console sessions: the community service's RPCs
(a mixin of ``CommunityService``, which gives ``self.db``). The rules are in ``staff``, the
store in ``staff_store``."""
from __future__ import annotations

from nameko.timer import timer

from services.common import clock
from services.common.errors import BadInput, Forbidden, NotFound
from services.common.rpc import rpc
from services.community import places_store, staff, staff_store


class StaffEntrypoints:
    """Staff accounts and console sessions."""

    @rpc
    def staff_add(self, login: str, name: str, committee: str | None, password_hash: str, role: str = "staff",
                  subdistrict: str | None = None) -> dict:
        """Add a clerk of ``committee``, a librarian or an editor of the whole network (no committee), a
        centre clerk of ``subdistrict`` or a supervisor (of ``subdistrict``, or with none of the
        district), with a password hashed by the caller (``staff.hash_password``)."""
        account = staff.new_account(login, name, committee, password_hash, clock.now(), role, subdistrict)
        if account["committee"] is not None and not places_store.committee_exists(self.db, account["committee"]):
            raise BadInput(f"unknown committee code {committee!r}")
        if account["subdistrict"] is not None and \
                places_store.kinds_of(self.db, [account["subdistrict"]]).get(account["subdistrict"]) != "subdistrict":
            raise BadInput(f"unknown sub-district code {subdistrict!r}")
        staff_store.add(self.db, account)
        return staff.profile(account)

    @rpc
    def staff_verify(self, login: str, password: str) -> dict:
        """The profile when ``password`` is right for an active account; else Forbidden (the
        same answer, after the same work, whatever was wrong)."""
        refused = Forbidden("wrong login or password")
        if not isinstance(password, str) or len(password) > staff.PASSWORD_MAX:
            raise refused
        account = staff_store.get(self.db, login) if staff.is_login(login) else None
        if not (staff.password_matches(password, account) and staff.is_active(account)):
            raise refused
        return staff.profile(account)

    @rpc
    def staff_session_open(self, login: str) -> str:
        """A new session of an active account (call after ``staff_verify``): its id, 32
        random bytes urlsafe, valid for SESSION_HOURS."""
        account = staff_store.get(self.db, staff.check_login(login))
        if not staff.is_active(account):
            raise Forbidden("no active staff account")
        session_id, session = staff.new_session(account, clock.now())
        staff_store.open_session(self.db, session)
        return session_id

    @rpc
    def staff_session_get(self, session_id: str) -> dict:
        """The profile behind a live session, with ``expires_at``; NotFound when it is
        unknown, closed, expired, or its account is no longer active."""
        gone = NotFound("no such session (signed out or expired)")
        if not isinstance(session_id, str) or not 20 <= len(session_id) <= 100:
            raise gone
        key = staff.session_key(session_id)
        session = staff_store.session(self.db, key)
        if session is None:
            raise gone
        if str(session["expires_at"]) <= staff.stamp(clock.now()):
            staff_store.close_session(self.db, key)
            raise gone
        account = staff_store.get(self.db, session["login"])
        if not staff.is_active(account):
            raise gone
        return {**staff.profile(account), "expires_at": session["expires_at"]}

    @rpc
    def staff_session_close(self, session_id: str) -> bool:
        """Sign out: the session is deleted (True when there was one)."""
        if not isinstance(session_id, str) or len(session_id) > 100:
            return False
        return staff_store.close_session(self.db, staff.session_key(session_id))

    @rpc
    def staff_list(self, committee: str | None, role: str = "librarian") -> list[dict]:
        """The active clerks of a committee (for assigning a case to a colleague), or with
        None the active accounts of ``role`` bound to no committee (librarians, supervisors)."""
        if committee is None:
            if role not in ("librarian", "supervisor", "centre", "editor"):
                raise BadInput("list librarians, supervisors, centres' clerks or editors, or name a committee")
            found = staff_store.of_role(self.db, role)
        elif not isinstance(committee, str) or not places_store.committee_exists(self.db, committee):
            # an unknown code would list nobody, as if the committee had no clerks
            raise NotFound(f"no committee {committee!r}")
        else:
            found = staff_store.of_committee(self.db, committee)
        return sorted((staff.profile(d) for d in found if d.get("active", True)), key=lambda p: p["login"])

    @rpc
    def staff_set_active(self, login: str, active: bool) -> dict:
        """Enable or disable an account; disabling also ends its sessions."""
        login = staff.check_login(login)
        if not isinstance(active, bool):   # "false" would read as true and keep the account on
            raise BadInput("active is true or false")
        account = staff_store.set_active(self.db, login, active)
        if account is None:
            raise NotFound(f"no staff account {login!r}")
        return staff.profile(account)

    @timer(interval=3600)
    def purge_staff_sessions(self):
        """Expired sessions are refused when presented; this removes the ones never presented again."""
        staff_store.purge_sessions(self.db, staff.stamp(clock.now()))
