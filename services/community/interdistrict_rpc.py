"""Cases across districts (a mixin of ``CommunityService``): forwarded cases taken from a
linked district, and the replies to ours (``interdistrict``: the rules; the contract:
``contracts/events/interdistrict.py``). Forwarding itself is a case step (``cases_rpc``)."""
from __future__ import annotations

from contracts.events.interdistrict import CaseForwardedV1, CaseRepliedV1, MaterialsHandedInV1
from services.common import clock, outbox
from services.common.config import DEFAULT_DISTRICT_CODE, linked_districts, option
from services.common.inbox import PermanentError, note_outcome
from services.community import (calendar_store, cases, cases_store, committee_notices, committee_notices_store,
                                interdistrict, places_store)
from services.community.interdistrict_inbox import BINDING, interdistrict_handler

FROM_LINK = cases.Actor("system", "system")


class InterdistrictEntrypoints:

    @interdistrict_handler(BINDING, accept=(CaseForwardedV1.TYPE, CaseRepliedV1.TYPE, MaterialsHandedInV1.TYPE))
    def on_interdistrict(self, event):
        if event["type"] == CaseForwardedV1.TYPE:
            self._take_forwarded(event)
        elif event["type"] == MaterialsHandedInV1.TYPE:
            self._take_supplement(event)
        else:
            self._take_reply(event)

    def _district(self) -> str:
        return str(option(self.config, "DISTRICT_CODE", DEFAULT_DISTRICT_CODE))

    def _linked(self) -> set[str]:
        return set(linked_districts(option(self.config, "LINKED_DISTRICTS", "")))

    def _take_forwarded(self, event: dict) -> None:
        """A case to handle at one of our committees: made once (its id from the sender's case)."""
        data = event["data"]
        case_id = interdistrict.copy_id(data["from_district"], data["case_id"])
        desk = places_store.desk_of(self.db, data["handling_committee"])
        if desk is None:   # the sender's word on the registration is wrong: refuse it back, do not hold it
            reason = (f"本区无此户籍所在居（村）委会或其无受理点：{data['handling_committee']}"
                      f" (no committee {data['handling_committee']!r} with a desk in district {self._district()})")
            reply = outbox.event(CaseRepliedV1.TYPE, interdistrict.refusal(data, self._district(), reason),
                                 subject=data["case_id"])
            cases_store.add_refusal(self.db, case_id, data, reply)
            return
        case = cases_store.get(self.db, case_id, cases_store.CASE_FIELDS)
        if case is not None:
            note_outcome(event["id"], "duplicate")
        else:
            now = clock.now()
            matter, resident, origin = interdistrict.copy_parts(data)
            scope = cases.number_scope(desk["_id"], now)
            case, _, _ = cases.new_case(
                case_id=case_id, number=f"{scope}-{cases_store.next_number(self.db, scope):04d}", matter=matter,
                resident=resident, desk=desk, handling=desk["parent"], actor=cases.Actor(
                    f"district:{data['from_district']}", "system"), now=now, materials=data["materials"],
                note=data.get("note"), origin=origin)
            if not cases_store.add(self.db, case, None):   # a copy taken at the same time
                note_outcome(event["id"], "duplicate")
                case = cases_store.get(self.db, case_id, cases_store.CASE_FIELDS)
        # the registration committee's inbox: once per event id, written again after a crash between
        for notice in committee_notices.for_forwarded(case):
            committee_notices_store.add(self.db, event["id"], notice, clock.now().isoformat(),
                                        resident_id=case["resident_id"], case_id=case_id)

    def _take_reply(self, event: dict) -> None:
        """The handling district's word on a case we forwarded."""
        data = event["data"]
        case = cases_store.get(self.db, data["case_id"])
        if case is None or case.get("handling_district") != data["from_district"]:
            raise PermanentError(f"no case {data['case_id']!r} of this district was forwarded to "
                                 f"district {data['from_district']}")
        step = cases.remote_reply(case, data, clock.now())
        if step is None:
            note_outcome(event["id"], "duplicate")
            return
        new, event_type, extra = step
        local = outbox.event(event_type.TYPE, cases.event_data(new, FROM_LINK, extra), subject=new["_id"])
        cases_store.save_case_step(self.db, case, new, local)   # a Conflict (changed meanwhile) is retried

    def _take_supplement(self, event: dict) -> None:
        """Materials we asked for, handed in where the case was accepted: our case resumes."""
        data = event["data"]
        case = cases_store.get(self.db, interdistrict.copy_id(data["from_district"], data["case_id"]))
        if case is None:
            raise PermanentError(f"no case {data['case_id']!r} of district {data['from_district']} is handled here")
        if case["status"] != "supplement_required":
            note_outcome(event["id"], "late")   # a copy: the first one resumed it already
            return
        new, event_type, extra = cases.apply(case, "supplement", FROM_LINK, clock.now(), calendar_store.load(self.db),
                                             materials=data["materials"], note=data.get("note"))
        local = outbox.event(event_type.TYPE, cases.event_data(new, FROM_LINK, extra), subject=new["_id"])
        reply = self._reply_event(case, new)
        cases_store.save_case_step(self.db, case, new, local, *([reply] if reply else []))

    def _supplement_event(self, case: dict, extra: dict) -> dict:
        return outbox.event(MaterialsHandedInV1.TYPE, interdistrict.supplemented_data(case, self._district(), extra),
                            subject=case["_id"])

    def _forward_event(self, case: dict, resident: dict) -> dict:
        return outbox.event(CaseForwardedV1.TYPE, interdistrict.forwarded_data(
            case, resident, self._district(), case["accepting_desk"]), subject=case["_id"])

    def _reply_event(self, before: dict, after: dict) -> dict | None:
        data = interdistrict.reply_for(before, after, self._district())
        return outbox.event(CaseRepliedV1.TYPE, data, subject=data["case_id"]) if data else None
