"""Electronic supervision (电子监察) as GraphQL shows it: the red and yellow counts per sub-district
and committee (``supervision``), a supervisor's 督办 (``urgeCase``), the handling clerk's answer
(``answerUrge``), and a resident's rating of a closed case (``rateCase``). The community
service decides who reaches which case (services/community/supervision.py)."""
from __future__ import annotations

import graphene

from gateway.schema.asking import CASE_HANDLERS, RESIDENT_ROLES, URGING_ROLES, actor, calls, principal
from gateway.schema.community import Case


class CommitteeCounts(graphene.ObjectType):
    """A committee's (or a sub-district centre's) open cases due soon and overdue."""
    code = graphene.String(required=True)
    name = graphene.String(required=True)
    due_soon = graphene.Int(required=True, description="yellow: due by the next working day")
    overdue = graphene.Int(required=True, description="red: past the deadline")
    late_urges = graphene.Int(required=True, description="cases whose 督办 is unanswered past its reply day")


class SubdistrictCounts(graphene.ObjectType):
    code = graphene.String(required=True)
    name = graphene.String(required=True)
    due_soon = graphene.Int(required=True)
    overdue = graphene.Int(required=True)
    late_urges = graphene.Int(required=True)
    committees = graphene.List(graphene.NonNull(CommitteeCounts), required=True,
                               description="the sub-district's centre first, then its committees")


class SupervisionCounts(graphene.ObjectType):
    scope = graphene.String(description="the sub-district in scope; null for the whole district")
    subdistricts = graphene.List(graphene.NonNull(SubdistrictCounts), required=True)

    @staticmethod
    def of(data: dict) -> "SupervisionCounts":
        return SupervisionCounts(scope=data["scope"], subdistricts=[
            SubdistrictCounts(code=s["code"], name=s["name"], due_soon=s["due_soon"], overdue=s["overdue"],
                              late_urges=s["late_urges"], committees=[CommitteeCounts(**c) for c in s["committees"]])
            for s in data["subdistricts"]])


class UrgeCase(graphene.Mutation):
    """A supervisor urges an open case in scope (督办), naming the day the answer is due; the
    handling committee finds it in its inbox and on the case."""

    class Arguments:
        case_id = graphene.ID(required=True)
        note = graphene.String(required=True, description="督办意见, at most 500 characters")
        reply_by = graphene.String(required=True, description="YYYY-MM-DD, today or later")

    Output = Case

    def mutate(root, info, case_id, note, reply_by):
        who = principal(info, *URGING_ROLES)
        return Case.of(calls(info).call("community", "urge_case", actor(who), case_id, note, reply_by))


class AnswerUrge(graphene.Mutation):
    """A clerk of the handling committee (or centre) answers a 督办 on its case, once."""

    class Arguments:
        case_id = graphene.ID(required=True)
        urge_id = graphene.ID(required=True)
        answer = graphene.String(required=True, description="办理情况, at most 1,000 characters")

    Output = Case

    def mutate(root, info, case_id, urge_id, answer):
        who = principal(info, *CASE_HANDLERS)
        return Case.of(calls(info).call("community", "answer_urge", actor(who), case_id, urge_id, answer))


class RateCase(graphene.Mutation):
    """I rate my closed case, 1 to 5 with a comment, once."""

    class Arguments:
        case_id = graphene.ID(required=True)
        score = graphene.Int(required=True, description="1 to 5")
        comment = graphene.String(description="at most 500 characters")

    Output = Case

    def mutate(root, info, case_id, score, comment=None):
        who = principal(info, *RESIDENT_ROLES)
        return Case.of(calls(info).call("community", "rate_case", actor(who), case_id, score, comment or ""))
