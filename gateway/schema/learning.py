"""The e-learning service's types for lifelong learning: courses, the TV guide, my
enrolments with progress per lesson, completion certificates."""
from __future__ import annotations

import graphene


class Rendition(graphene.ObjectType):
    """One way to follow a lesson: on TV at a time, or on a phone or the web at an address."""
    channel = graphene.String(required=True, description="tv, mobile or web")
    url = graphene.String(description="mobile and web")
    tv_channel = graphene.String(description="tv: the broadcast channel")
    starts_at = graphene.String(description="tv: when it is broadcast (China Standard Time)")
    minutes = graphene.Int()

    @staticmethod
    def all_of(renditions: dict) -> list["Rendition"]:
        return [Rendition(channel=channel, url=r.get("url"), tv_channel=r.get("channel") if channel == "tv" else None,
                          starts_at=r.get("starts_at"), minutes=r.get("minutes"))
                for channel, r in (renditions or {}).items() if r]


class Lesson(graphene.ObjectType):
    id = graphene.ID(required=True, description="what progress (recordProgress) and content players name")
    title = graphene.String(required=True)
    renditions = graphene.List(graphene.NonNull(Rendition), required=True)

    @staticmethod
    def of(lesson: dict) -> "Lesson":
        return Lesson(id=lesson["id"], title=lesson["title"], renditions=Rendition.all_of(lesson.get("renditions")))


class CourseUnit(graphene.ObjectType):
    title = graphene.String(required=True)
    lessons = graphene.List(graphene.NonNull(Lesson), required=True)

    @staticmethod
    def of(unit: dict) -> "CourseUnit":
        return CourseUnit(title=unit["title"], lessons=[Lesson.of(lesson) for lesson in unit.get("lessons", [])])


class Course(graphene.ObjectType):
    id = graphene.ID(required=True)
    title = graphene.String(required=True)
    provider = graphene.String()
    subjects = graphene.List(graphene.NonNull(graphene.String), required=True)
    credits = graphene.Int()
    channels = graphene.List(graphene.NonNull(graphene.String), required=True, description="tv, mobile, web")
    units = graphene.List(graphene.NonNull(CourseUnit), required=True, description="the course's units and lessons")

    @staticmethod
    def of(c: dict) -> "Course":
        return Course(id=c["course_id"], title=c["title"], provider=c.get("provider"), subjects=c["subjects"],
                      credits=c.get("credits"), channels=c["channels"],
                      units=[CourseUnit.of(u) for u in c.get("units", [])])


class TvSlot(graphene.ObjectType):
    channel = graphene.String(required=True)
    starts_at = graphene.String(required=True)
    minutes = graphene.Int()
    course_title = graphene.String(required=True)
    lesson_title = graphene.String(required=True)
    resource_id = graphene.ID(description="a popular-science video: the library's digital resource to play")

    @staticmethod
    def of(t: dict) -> "TvSlot":
        return TvSlot(channel=t["channel"], starts_at=t["starts_at"], minutes=t.get("minutes"),
                      course_title=t["course_title"], lesson_title=t["lesson_title"],
                      resource_id=t.get("resource_id"))


class LessonProgress(graphene.ObjectType):
    """Where the learner is in one lesson, from whichever device reported last: another
    device resumes from here."""
    lesson_id = graphene.ID(required=True)
    position = graphene.Int(required=True, description="seconds into the lesson")
    percent = graphene.Int(required=True)
    completed = graphene.Boolean(required=True)
    updated_at = graphene.String(required=True, description="when the newest report was made")
    channel = graphene.String(required=True, description="tv, mobile, web or xapi")

    @staticmethod
    def of(p: dict) -> "LessonProgress":
        return LessonProgress(lesson_id=p["lesson_id"], position=p["position"], percent=p["percent"],
                              completed=p["completed"], updated_at=p["at"], channel=p["channel"])


class Enrolment(graphene.ObjectType):
    course_id = graphene.String(required=True)
    course_title = graphene.String()
    completed = graphene.Boolean(required=True)
    lessons_completed = graphene.Int()
    last_activity = graphene.String()
    enrolled_at = graphene.String()
    lessons = graphene.List(graphene.NonNull(LessonProgress), required=True,
                            description="progress per lesson started, most recent first")

    @staticmethod
    def of(e: dict) -> "Enrolment":
        """An enrolment as my learning overview and ``enrol`` answer it."""
        return Enrolment(
            course_id=e["course_id"], course_title=e.get("course_title"), completed=bool(e["completed"]),
            lessons_completed=e.get("lessons_completed"), last_activity=e.get("last_activity"),
            enrolled_at=e.get("enrolled_at"), lessons=[LessonProgress.of(p) for p in e.get("lessons", [])])


class Certificate(graphene.ObjectType):
    number = graphene.String(required=True)
    html = graphene.String(required=True, description="a printable page (UTF-8 HTML, escaped)")
