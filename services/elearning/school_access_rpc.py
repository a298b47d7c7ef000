"""Teachers, pupils and guardians at the e-schoolbag's pages (a mixin of ``ElearningService``):
sign-in codes and sessions, teachers' identity links, guardians' consent and children's
views, a teacher's classes, whole-class messages, files, a pupil's lessons. The work is in
``school_signin`` and ``classroom`` (rules in ``school_access`` and ``school_files``); the
gateway passes who is asking, as it verified them.

Refusals: BadInput (a malformed code, file, text), RateLimited (too many wrong codes),
Forbidden (no consent; another class's pupil), NotFound (an unknown, used or expired code
or session; a child who is not the guardian's: as if there were none).
"""
from __future__ import annotations

from nameko.timer import timer

from services.common import clock
from services.common.rpc import rpc
from services.elearning import classroom, school_access, school_access_store, school_signin


class SchoolAccessEntrypoints:

    # ---- codes and sessions ----------------------------------------------------------------

    @rpc
    def school_code_issue(self, issuer: dict, user_id: str) -> dict:
        """A sign-in code for a pupil (by a teacher of their class, or the operator:
        ``{"role": "operator", "id": login}``) or a teacher (the operator only). Shown once."""
        return school_signin.issue_code(self.db, issuer, user_id, clock.now())

    @rpc
    def school_code_signin(self, code: str, source: str) -> dict:
        """A session for the code's pupil or teacher: {session_id, role, user_id, name};
        ``source``: the terminal's address (wrong codes are counted by it)."""
        return school_signin.sign_in_by_code(self.db, code, source, clock.now())

    @rpc
    def school_session_get(self, session_id: str) -> dict:
        """{role, user_id, name, via, guardian} of a live session."""
        return school_signin.session_of(self.db, session_id, clock.now())

    @rpc
    def school_session_close(self, session_id: str) -> bool:
        return school_signin.close_session(self.db, session_id)

    @timer(interval=3600)
    def purge_school_access(self):
        """Expired codes, wrong-try counts and sessions never presented again."""
        school_access_store.purge(self.db, school_access.stamp(clock.now()))

    @rpc
    def teacher_link_identity(self, teacher_id: str, issuer: str, subject: str) -> dict:
        """Let a roster teacher sign in through the identity provider as ``subject``."""
        return school_signin.link_teacher(self.db, teacher_id, issuer, subject)

    @rpc
    def teacher_signin_identity(self, issuer: str, subject: str) -> dict:
        """A session for the teacher linked to the identity (NotFound: linked to none)."""
        return school_signin.sign_in_by_identity(self.db, issuer, subject, clock.now())

    @rpc
    def pupil_session_for_guardian(self, resident_id: str, student_id: str) -> dict:
        """The child's own view opened from the guardian's portal (consent needed as for a code)."""
        return school_signin.child_view(self.db, resident_id, student_id, clock.now())

    # ---- consent ------------------------------------------------------------------------

    @rpc
    def guardian_consent(self, resident_id: str, student_id: str, given: bool) -> dict:
        return classroom.record_consent(self.db, resident_id, student_id, given, clock.now())

    @rpc
    def guardian_consents(self, resident_id: str) -> dict:
        """{pupil id: {consent, needed}} of the guardian's children."""
        return classroom.guardian_consents(self.db, resident_id)

    # ---- a teacher's classes ----------------------------------------------------------------

    @rpc
    def teacher_classes(self, teacher_id: str) -> dict:
        return classroom.teacher_classes(self.db, teacher_id)

    @rpc
    def class_for_teacher(self, teacher_id: str, class_id: str) -> dict:
        return classroom.class_for_teacher(self.db, teacher_id, class_id)

    @rpc
    def message_class(self, teacher_id: str, class_id: str, text: str) -> dict:
        return classroom.message_class(self.db, teacher_id, class_id, text, clock.now())

    @rpc
    def publish_assignment_with_files(self, teacher_id: str, class_id: str, title: str, body: str, due_at: str,
                                      files: list[dict]) -> dict:
        """``publish_assignment`` with attachments: ``files`` [{name, content_type, data_base64}],
        every one checked before anything is stored."""
        return classroom.publish_with_files(self.db, teacher_id, class_id, title, body, due_at, files, clock.now())

    @rpc
    def submit_with_files(self, student_id: str, assignment_id: str, text: str, files: list[dict]) -> dict:
        """A pupil's submission with files (checked first; stored only when the pupil may submit)."""
        return classroom.submit_with_files(self.db, student_id, assignment_id, text, files, clock.now())

    @rpc
    def school_file(self, viewer: dict, file_id: str) -> dict:
        """One file (base64) for someone who may open it; NotFound for anyone else."""
        return classroom.open_file(self.db, viewer, file_id)

    @rpc
    def school_files_described(self, file_ids: list[str]) -> dict:
        """Names and sizes of stored files (what a submission's ``file:`` references are)."""
        return classroom.files_described(self.db, file_ids)

    # ---- a pupil's lessons --------------------------------------------------------------------

    @rpc
    def pupil_lessons(self, student_id: str) -> dict:
        return classroom.pupil_lessons(self.db, student_id)

    @rpc
    def pupil_lesson_step(self, student_id: str, course_id: str, lesson_id: str, finished: bool) -> dict:
        return classroom.pupil_lesson_step(self.db, student_id, course_id, lesson_id, finished, clock.now())
