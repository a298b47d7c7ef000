"""The portal's 学习 pages (``@http``, a mixin of ``PortalEntrypoints``): my courses and where I
left off (progress from any device), today's TV guide (popular-science videos on it play from
the library), popular science shared by institutes and companies, the courses I may join, my credits.
All through GraphQL as the resident."""
from __future__ import annotations

import re

from nameko.web.handlers import http

from gateway.portal import pages
from gateway.portal.session import Refused, Signed
from services.common import clock

COURSE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

MY_LEARNING = ("query($day: String!) { me { credits enrolments { courseId courseTitle completed lessonsCompleted "
               "lastActivity lessons { lessonId percent completed updatedAt channel } } } "
               "tvGuide(day: $day) { channel startsAt minutes courseTitle lessonTitle resourceId } "
               "courses { id title provider credits channels } "
               "popularScience(first: 20) { id kind title description provider audience startsOn endsOn place "
               "resourceId } }")
COURSE = ("query($id: ID!) { course(id: $id) { id title provider credits "
          "units { title lessons { id title renditions { channel url tvChannel startsAt minutes } } } } }")
ENROL = "mutation($c: ID!) { enrol(courseId: $c) { courseId } }"


class PortalLearningPages:

    @http("GET", "/learning")
    def portal_learning(self, request):
        def work(signed: Signed):
            data = self._portal_ask(signed, MY_LEARNING, {"day": clock.today().isoformat()})
            mine = data["me"]["enrolments"] or []
            joined = {e["courseId"] for e in mine}
            return self._portal_page(request, 200, "learning.html", signed, enrolments=mine,
                                     credits=data["me"]["credits"] or 0, guide=data["tvGuide"],
                                     courses=[c for c in data["courses"] if c["id"] not in joined],
                                     popsci=data["popularScience"],
                                     joined=request.args.get("joined") == "1", active="learning")
        return self._portal_signed(request, work)

    @http("GET", "/learning/courses/<string:course_id>")
    def portal_course(self, request, course_id):
        def work(signed: Signed):
            course = self._portal_ask(signed, COURSE, {"id": course_id})["course"] \
                if COURSE_ID.match(course_id) else None
            if course is None:
                return self._portal_problem(request, *pages.ERRORS["NOT_FOUND"])
            return self._portal_page(request, 200, "course.html", signed, course=course, active="learning")
        return self._portal_signed(request, work)

    @http("POST", "/learning/enrol")
    def portal_enrol(self, request):
        def work(signed: Signed):
            course_id = (self._portal_form(request).get("course_id") or "").strip()
            if not COURSE_ID.match(course_id):
                return self._portal_problem(request, *pages.ERRORS["NOT_FOUND"])
            try:
                self._portal_ask(signed, ENROL, {"c": course_id})
            except Refused as exc:
                if exc.code in ("NOT_FOUND", "BAD_USER_INPUT", "CONFLICT"):
                    return self._portal_problem(request, 400, "未能报名", str(exc))
                raise
            return pages.redirect("/learning?joined=1")
        return self._portal_signed(request, work, csrf=True)
