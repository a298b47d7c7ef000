"""Electronic supervision (电子监察) and ratings: the RPCs of the red and yellow counts, the 督办 and
its answer, and a resident's rating of a closed case (a mixin of ``CommunityService``, which
gives ``self.db``). The rules are in ``supervision``; the counts' store in ``supervision_store``;
a 督办 is written with the case (``cases_store.save_case_fix``) and told to the handling
committee's inbox (``committee_notices``)."""
from __future__ import annotations

from services.common import clock
from services.common.errors import Forbidden
from services.common.rpc import rpc
from services.community import (access_log, cases, cases_store, committee_notices, committee_notices_store,
                                places_store, supervision, supervision_store)


class SupervisionEntrypoints:
    """Counts of cases near and past their deadline, 督办 and their answers, ratings."""

    @rpc
    def supervision_counts(self, actor: dict) -> dict:
        """Yellow (due soon) and red (overdue) open cases per sub-district and per committee
        in the asker's scope: a supervisor's (the district or one sub-district), a centre
        clerk's sub-district."""
        who = cases.actor_of(actor)
        if who.role not in ("supervisor", "centre", "admin"):
            raise Forbidden("the supervision counts are for supervisors and sub-district centres")
        scope = who.subdistrict if who.role != "admin" else None
        # one indexed equality each (the desks, as many again, are not read)
        places = places_store.places(self.db, "subdistrict") + places_store.places(self.db, "committee")
        return {"scope": scope,
                "subdistricts": supervision.counts(supervision_store.flagged_counts(self.db, clock.today().isoformat()),
                                                   places, scope)}

    @rpc
    def urge_case(self, actor: dict, case_id: str, note: str, reply_by: str) -> dict:
        """A supervisor's 督办 on an open case in scope, with the day the answer is due; told
        to the handling committee's inbox."""
        who = cases.actor_of(actor)
        case = self._case(case_id, who)
        now = clock.now()
        new, urge = supervision.urge(case, who, now, clock.today(), note, reply_by)
        cases_store.save_case_fix(self.db, case, new)
        # the case holds the 督办 (its page shows it unanswered); the inbox notice points at it,
        # one per 督办 (its id), so writing it again changes nothing
        for notice in committee_notices.for_urge(new, urge):
            committee_notices_store.add(self.db, f"urge-{urge['urge_id']}", notice, now.isoformat(),
                                        resident_id=case["resident_id"], case_id=case["_id"])
        access_log.record(self.db, case["resident_id"], who, "action", now, case_id=case["_id"])
        return self._view(new, who)

    @rpc
    def answer_urge(self, actor: dict, case_id: str, urge_id: str, answer: str) -> dict:
        """A clerk of the handling committee answers a 督办 (once)."""
        who = cases.actor_of(actor)
        case = self._case(case_id, who)
        now = clock.now()
        new, _ = supervision.answer(case, who, now, urge_id, answer)
        cases_store.save_case_fix(self.db, case, new)
        access_log.record(self.db, case["resident_id"], who, "action", now, case_id=case["_id"])
        return self._view(new, who)

    @rpc
    def rate_case(self, actor: dict, case_id: str, score: int, comment: str = "") -> dict:
        """The resident rates their closed case, 1 to 5 with a comment, once."""
        who = cases.actor_of(actor)
        case = self._case(case_id, who)
        new = supervision.rate(case, who, clock.now(), score, comment)
        cases_store.save_case_fix(self.db, case, new)
        return self._view(new, who)
