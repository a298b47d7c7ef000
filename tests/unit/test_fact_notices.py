"""Notices of other services' facts (assignments, course completions): shipped templates,
autoescaped, times in Beijing time."""
from services.community import notices


def test_times_read_in_beijing_time_across_the_date_line():
    assert notices.local_time("2026-11-25T17:30:00+00:00") == "2026年11月26日 01:30"
    assert notices.local_time("2026-11-25T17:30:00Z", with_time=False) == "2026年11月26日"
    assert notices.local_time(None) == "" and notices.local_time("") == ""


def test_assignment_notice_names_the_child_and_escapes_the_teachers_words():
    n = notices.render_fact("assignment_published", {
        "resident_name": "张伟", "student_name": "小明", "class_title": "三年级(2)班",
        "assignment_title": "<img src=x onerror=alert(1)>", "due": "2026年11月26日 18:00", "today": "2026-11-25"})
    assert n.kind == "assignment_published" and n.title == "新作业通知"
    assert "小明所在的三年级(2)班" in n.body and "2026年11月26日 18:00 前完成" in n.body
    assert "<img" not in n.body and "&lt;img src=x" in n.body


def test_assignment_notice_without_a_due_time_says_none():
    n = notices.render_fact("assignment_published", {
        "resident_name": "张伟", "student_name": "小明", "class_title": "三年级(2)班",
        "assignment_title": "朗读", "due": "", "today": "2026-11-25"})
    assert "前完成" not in n.body and "《朗读》。" in n.body


def test_completion_notice_says_where_the_certificate_is():
    n = notices.render_fact("course_completed", {"resident_name": "赵敏", "course_title": "急救&护理",
                                                 "completed_on": "2026年11月26日", "today": "2026-11-26"})
    assert n.title == "课程结业通知"
    assert "《急救&amp;护理》" in n.body and "“我的学习”中查看和下载" in n.body and "结业证书" in n.body
