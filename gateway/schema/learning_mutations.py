"""The e-learning service's mutations for lifelong learning: enrolling, recording progress."""
from __future__ import annotations

import graphene

from gateway.schema.asking import as_resident
from gateway.schema.learning import Enrolment


class Enrol(graphene.Mutation):
    class Arguments:
        course_id = graphene.ID(required=True)

    Output = Enrolment

    def mutate(root, info, course_id):
        return Enrolment.of(as_resident(info, "elearning", "enrol", course_id))


class ProgressResult(graphene.ObjectType):
    applied = graphene.Boolean(required=True, description="false when an newer report was already recorded")
    course_completed = graphene.Boolean(required=True)


class RecordProgress(graphene.Mutation):
    """Progress on a lesson from this device; resumes on any other."""

    class Arguments:
        course_id = graphene.ID(required=True)
        lesson_id = graphene.ID(required=True)
        position = graphene.Int()
        percent = graphene.Int()
        completed = graphene.Boolean()
        at = graphene.String(required=True, description="ISO 8601 with a time zone")
        channel = graphene.String(default_value="web")

    Output = ProgressResult

    def mutate(root, info, course_id, lesson_id, at, channel, position=0, percent=0, completed=False):
        r = as_resident(info, "elearning", "record_progress", {
            "course_id": course_id, "lesson_id": lesson_id, "position": position or 0, "percent": percent or 0,
            "completed": bool(completed), "at": at, "channel": channel})
        return ProgressResult(applied=r["applied"], course_completed=bool(r["course_completed"]))
