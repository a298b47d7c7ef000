"""The e-schoolbag's pages (``/school``, ``@http``, a mixin of ``PortalEntrypoints``) for
teachers and pupils, phone-first like the portal's:

- a teacher: their classes; one class (assignments with how many submitted, pupils named only
  with consent, a pupil's sign-in code, a message to every guardian of the class, threads with
  read receipts); setting an assignment with files and a due time; who submitted, marking and
  commenting; a message to one pupil's guardians;
- a pupil: today's assignments, what the teacher marked, lessons to continue (where they left
  off, kept as a learner's progress is) and courses to start; an assignment and submitting it
  (text and files).

Files and who-may-see-what are the elearning service's (``school_access_rpc``): these pages
pass the signed-in person as the session says, never what a form says.
"""
from __future__ import annotations

import base64
import re
from datetime import date, datetime, timedelta

from nameko.web.handlers import http
from werkzeug.wrappers import Response

from gateway.portal import pages
from gateway.portal.school_session import SchoolRefused, Schooled, SchoolSession
from contracts.rpc.elearning import SCHOOL_FILE_MAX_BYTES, SCHOOL_FILE_REFERENCE, SCHOOL_FILES_AT_ONCE
from services.common import clock

ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
FILE_ID = re.compile(r"^[0-9a-f]{24}$")
MAX_TEXT = 1000
UPLOAD_BODY = SCHOOL_FILES_AT_ONCE * SCHOOL_FILE_MAX_BYTES + 64 * 1024
CHINA = "+08:00"
DONE = {"published": "作业已布置。", "marked": "批改已保存。", "submitted": "作业已提交。",
        "class": "消息已发给全班家长。", "lesson": "这一课学完了。", "started": "已记下你开始学这一课。"}


class PortalSchoolPages(SchoolSession):

    # ---- signing in and out --------------------------------------------------------------------

    @http("GET", "/school/login")
    def school_login_page(self, request):
        return self._school_guard(request, lambda: self._school_login_form(request))

    @http("POST", "/school/login")
    def school_login(self, request):
        return self._school_guard(request, lambda: self._school_check_code(request))

    @http("GET", "/school/login/oidc")
    def school_login_oidc(self, request):
        return self._school_guard(request, lambda: self._school_oidc_start(request))

    @http("GET", "/school/login/oidc/callback")
    def school_login_oidc_back(self, request):
        return self._school_guard(request, lambda: self._school_oidc_back(request))

    @http("POST", "/school/logout")
    def school_logout(self, request):
        def work(who: Schooled):
            self._school_call("school_session_close", who.session_id)
            response = pages.redirect("/school/login" if not who.guardian else "/family")
            self._portal_forget(response, "school_session")
            return response
        return self._school_signed(request, work, csrf=True)

    # ---- home ------------------------------------------------------------------------------

    @http("GET", "/school")
    def school_home(self, request):
        def work(who: Schooled):
            if who.role == "teacher":
                mine = self._school_call("teacher_classes", who.user_id)
                return self._school_page(request, 200, "school_teacher.html", who, classes=mine["classes"])
            found = self._school_call("assignments_for_student", who.user_id)
            today = clock.today().isoformat()
            todo = [a for a in found if a["state"] == "not_submitted" or
                    (a["state"] == "overdue" and _local_day(a["due_at"]) == today)]
            marked = [a for a in found if a["state"] == "marked"]
            return self._school_page(request, 200, "school_pupil.html", who, todo=todo, marked=marked,
                                     lessons=self._school_call("pupil_lessons", who.user_id),
                                     done=DONE.get(request.args.get("done")))
        return self._school_signed(request, work)

    @http("POST", "/school/lessons")
    def school_lesson(self, request):
        """The pupil starts or finishes a lesson: their place is kept, and the page lists the lesson
        to open (never a redirect elsewhere: the pages' CSP allows forms to this site only)."""
        def work(who: Schooled):
            form = self._portal_form(request)
            step = self._school_call("pupil_lesson_step", who.user_id, _checked_id(form.get("course_id") or ""),
                                     _checked_id(form.get("lesson_id") or ""), form.get("finished") == "1")
            return pages.redirect("/school?done=" + ("lesson" if step["finished"] else "started"))
        return self._school_signed(request, work, csrf=True, role="pupil")

    # ---- a teacher's class ------------------------------------------------------------------

    @http("GET", "/school/classes/<string:class_id>")
    def school_class(self, request, class_id):
        def work(who: Schooled):
            return self._school_class_page(request, who, class_id, DONE.get(request.args.get("done")))
        return self._school_signed(request, work, role="teacher")

    def _school_class_page(self, request, who: Schooled, class_id: str, done: str | None = None,
                           status: int = 200, problem: dict | None = None) -> Response:
        _checked_id(class_id)
        klass = self._school_call("class_for_teacher", who.user_id, class_id)
        return self._school_page(request, status, "school_class.html", who, klass=klass, done=done, problem=problem)

    @http("POST", "/school/classes/<string:class_id>/assignments")
    def school_publish(self, request, class_id):
        request.max_content_length = UPLOAD_BODY

        def work(who: Schooled):
            _checked_id(class_id)
            form = self._portal_form(request)
            try:
                due = _due(form.get("due_day"), form.get("due_time"))
                files = _files(request)
            except ValueError as exc:
                raise SchoolRefused(400, str(exc)) from None
            self._school_call("publish_assignment_with_files", who.user_id, class_id,
                              (form.get("title") or "").strip(), (form.get("body") or "").strip(), due, files)
            return pages.redirect(f"/school/classes/{class_id}?done=published")
        return self._school_signed(request, work, csrf=True, role="teacher")

    @http("POST", "/school/classes/<string:class_id>/codes")
    def school_issue_code(self, request, class_id):
        def work(who: Schooled):
            _checked_id(class_id)
            student_id = _checked_id(self._portal_form(request).get("student_id") or "")
            issued = self._school_call("school_code_issue", who.viewer, student_id)
            return self._school_page(request, 200, "school_code.html", who, issued=issued, class_id=class_id)
        return self._school_signed(request, work, csrf=True, role="teacher")

    @http("POST", "/school/classes/<string:class_id>/message")
    def school_message_class(self, request, class_id):
        def work(who: Schooled):
            _checked_id(class_id)
            text = _text(self._portal_form(request).get("text"))
            self._school_call("message_class", who.user_id, class_id, text)
            return pages.redirect(f"/school/classes/{class_id}?done=class")
        return self._school_signed(request, work, csrf=True, role="teacher")

    @http("GET", "/school/pupils/<string:student_id>/message")
    def school_pupil_message_form(self, request, student_id):
        def work(who: Schooled):
            class_id = _checked_id(request.args.get("class") or "")
            klass = self._school_call("class_for_teacher", who.user_id, class_id)
            pupil = next((p for p in klass["pupils"] if p["student_id"] == student_id), None)
            if pupil is None:
                raise SchoolRefused(404, "这个班级没有这名学生。")
            return self._school_page(request, 200, "school_pupil_message.html", who, student_id=student_id,
                                     class_id=class_id, pupil_name=pupil["name"])
        return self._school_signed(request, work, role="teacher")

    @http("POST", "/school/pupils/<string:student_id>/message")
    def school_pupil_message(self, request, student_id):
        def work(who: Schooled):
            form = self._portal_form(request)
            class_id = _checked_id(form.get("class_id") or "")
            sent = self._school_call("post_message", who.viewer, _text(form.get("text")), None,
                                     _checked_id(student_id), class_id)
            return pages.redirect(f"/school/threads/{sent['thread_id']}?sent=1")
        return self._school_signed(request, work, csrf=True, role="teacher")

    @http("GET", "/school/threads/<string:thread_id>")
    def school_thread(self, request, thread_id):
        def work(who: Schooled):
            _checked_id(thread_id)
            thread = self._school_call("thread_messages", who.viewer, thread_id)
            self._school_call("mark_read", who.viewer, thread_id)
            return self._school_page(request, 200, "school_thread.html", who, thread=thread,
                                     sent=request.args.get("sent") == "1")
        return self._school_signed(request, work, role="teacher")

    @http("POST", "/school/threads/<string:thread_id>/reply")
    def school_thread_reply(self, request, thread_id):
        def work(who: Schooled):
            _checked_id(thread_id)
            self._school_call("post_message", who.viewer, _text(self._portal_form(request).get("text")), thread_id)
            return pages.redirect(f"/school/threads/{thread_id}?sent=1")
        return self._school_signed(request, work, csrf=True, role="teacher")

    # ---- an assignment: the teacher's submissions, the pupil's task ----------------------------

    @http("GET", "/school/assignments/<string:assignment_id>")
    def school_assignment(self, request, assignment_id):
        def work(who: Schooled):
            _checked_id(assignment_id)
            done = DONE.get(request.args.get("done"))
            if who.role == "teacher":
                view = self._school_call("submissions_for_assignment", who.user_id, assignment_id)
                for p in view["pupils"]:
                    if p["submission"]:
                        p["submission"]["files"] = self._school_described(p["submission"]["attachments"])
                return self._school_page(request, 200, "school_assignment.html", who, view=view, done=done)
            view = next((a for a in self._school_call("assignments_for_student", who.user_id)
                         if a["assignment_id"] == assignment_id), None)
            if view is None:
                raise SchoolRefused(404, "没有这项作业。")
            if view["submission"]:
                view["submission"]["files"] = self._school_described(view["submission"]["attachments"])
            return self._school_page(request, 200, "school_task.html", who, view=view, done=done)
        return self._school_signed(request, work)

    def _school_described(self, attachments: list[str]) -> list[dict]:
        ids = [a[len(SCHOOL_FILE_REFERENCE):] for a in attachments if a.startswith(SCHOOL_FILE_REFERENCE)]
        found = self._school_call("school_files_described", ids) if ids else {}
        return [found[i] for i in ids if i in found]

    @http("POST", "/school/assignments/<string:assignment_id>/mark")
    def school_mark(self, request, assignment_id):
        def work(who: Schooled):
            _checked_id(assignment_id)
            form = self._portal_form(request)
            student_id = _checked_id(form.get("student_id") or "")
            raw = (form.get("mark") or "").strip()
            mark = int(raw) if raw.isdigit() else raw
            self._school_call("mark_submission", who.user_id, f"{assignment_id}|{student_id}", mark,
                              (form.get("comment") or "").strip() or None)
            return pages.redirect(f"/school/assignments/{assignment_id}?done=marked")
        return self._school_signed(request, work, csrf=True, role="teacher")

    @http("POST", "/school/assignments/<string:assignment_id>/submit")
    def school_submit(self, request, assignment_id):
        request.max_content_length = UPLOAD_BODY

        def work(who: Schooled):
            _checked_id(assignment_id)
            try:
                files = _files(request)
            except ValueError as exc:
                raise SchoolRefused(400, str(exc)) from None
            self._school_call("submit_with_files", who.user_id, assignment_id,
                              (self._portal_form(request).get("text") or "").strip(), files)
            return pages.redirect(f"/school/assignments/{assignment_id}?done=submitted")
        return self._school_signed(request, work, csrf=True, role="pupil")

    @http("GET", "/school/files/<string:file_id>")
    def school_file(self, request, file_id):
        def work(who: Schooled):
            if not FILE_ID.match(file_id):
                raise SchoolRefused(404, "没有这个文件。")
            found = self._school_call("school_file", who.viewer, file_id)
            return _download(found)
        return self._school_signed(request, work)


def _download(found: dict) -> Response:
    from urllib.parse import quote
    return Response(base64.b64decode(found["data_base64"]), status=200, content_type=found["content_type"],
                    headers={**pages.HEADERS, "Content-Disposition":
                             f"attachment; filename*=UTF-8''{quote(found['name'])}",
                             "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


def _checked_id(value: str) -> str:
    if not ID.match(value or ""):
        raise SchoolRefused(404, "没有找到。")
    return value


def _text(raw) -> str:
    text = (raw or "").strip()
    if not text or len(text) > MAX_TEXT:
        raise SchoolRefused(400, f"请写1至{MAX_TEXT}个字。")
    return text


def _due(day: str | None, time: str | None) -> str:
    """A due time as the form gives it (the district's date and clock time) -> ISO 8601 with +08:00."""
    try:
        on = date.fromisoformat((day or "").strip())
        at = datetime.strptime((time or "").strip(), "%H:%M").time()
    except ValueError:
        raise ValueError("请填写截止日期和时间。") from None
    if on > clock.today() + timedelta(days=366):
        raise ValueError("截止日期太远了。")
    return f"{on.isoformat()}T{at.strftime('%H:%M')}:00{CHINA}"


def _files(request) -> list[dict]:
    sent = [f for f in request.files.getlist("files") if f and f.filename]
    if len(sent) > SCHOOL_FILES_AT_ONCE:
        raise ValueError(f"一次最多 {SCHOOL_FILES_AT_ONCE} 个文件。")
    out = []
    for f in sent:
        data = f.read(SCHOOL_FILE_MAX_BYTES + 1)
        if len(data) > SCHOOL_FILE_MAX_BYTES:
            raise ValueError(f"文件“{f.filename}”超过 {SCHOOL_FILE_MAX_BYTES // (1024 * 1024)} MB。")
        out.append({"name": f.filename, "content_type": f.mimetype, "data_base64": base64.b64encode(data).decode()})
    return out


def _local_day(at: str) -> str:
    """The district's date of a stored UTC time."""
    return (datetime.fromisoformat(at) + timedelta(hours=8)).date().isoformat()
