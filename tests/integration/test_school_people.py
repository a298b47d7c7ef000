"""Teachers, pupils and guardians at the e-schoolbag's pages (``/school`` and the guardian's
``/family``), over HTTP as a browser sends it: a teacher signs in by a code ``suite`` issues,
sets an assignment with a file, gives a pupil a code, marks and comments, writes to the whole
class and sees who read it; a pupil signs in by that code once and submits text and a file; a
guardian records consent and opens the child's view. Refused with a page and nothing stored: a
pupil without consent, a replayed or expired code, too many wrong codes, another class's
teacher, a guardian of another child, a mislabelled file, a forged session, a form without
its CSRF token."""
import re
import uuid
from datetime import timedelta

import pytest
import requests
from nameko.exceptions import RemoteError

from services.common import clock
from services.elearning import school_access, school_access_store
from services.elearning.service import ElearningService
from support.portal import csrf_of, start_portal
from support.school_data import make_school

SECRET = "school-people-secret-of-at-least-32-bytes"
DESK = {"id": "desk-1", "role": "staff", "committee": "C0101"}
OPERATOR = {"role": "operator", "id": "test"}
CODE = re.compile(r'id="pupil-code">([A-Z0-9-]{9})<')
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
PDF = b"%PDF-1.4\n%test\n"
pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def school_pages(start_service, service_config, rpc, tmp_path):
    portal = start_portal(start_service, service_config, rpc, tmp_path, SECRET, ElearningService)
    (tmp_path / "roster").mkdir()
    school = make_school(rpc, tmp_path / "roster")
    phones = {}
    for who in ("A", "stranger"):
        phones[who] = "132" + f"{uuid.uuid4().int % 10 ** 8:08d}"
        rpc.community.change_phone(DESK, {"resident_id": school.residents[who], "phone": phones[who]})
    return portal, school, phones


def by_code(portal, code: str, browser=None):
    browser = browser or requests.Session()
    form = browser.get(portal.base + "/school/login", timeout=10)
    return browser, browser.post(portal.base + "/school/login", data={"code": code, "csrf": csrf_of(form)},
                                 timeout=10)


def teacher(portal, rpc, teacher_id):
    code = rpc.elearning.school_code_issue(OPERATOR, teacher_id)["code"]
    browser, home = by_code(portal, code)
    assert home.status_code == 200 and home.url.endswith("/school"), home.text[-800:]
    return browser, home


def test_teacher_pupil_and_guardian(school_pages, rpc, db, later):
    portal, school, phones = school_pages
    store = db("elearning")
    t1, home = teacher(portal, rpc, school.t1)
    assert "三年级(2)班" in home.text and "四年级(1)班" not in home.text
    klass = t1.get(portal.base + f"/school/classes/{school.c1}", timeout=10)
    assert "（待监护人同意）" in klass.text and "张小明" not in klass.text     # no consent yet: a placeholder
    with pytest.raises(RemoteError) as refused:
        rpc.elearning.school_code_issue(OPERATOR, school.u1)
    assert refused.value.exc_type == "Forbidden"
    refused = t1.post(portal.base + f"/school/classes/{school.c1}/codes",
                      data={"csrf": csrf_of(klass), "student_id": school.u1}, timeout=10)
    assert refused.status_code == 403 and "监护人" in refused.text and not store.school_codes.find_one(
        {"user_id": school.u1})

    # the guardian consents (not without the form's token; a stranger cannot)
    guardian, _ = portal.sign_in(phones["A"])
    child = guardian.get(portal.base + f"/family/{school.u1}", timeout=10)
    assert "同意孩子使用电子书包" in child.text
    assert guardian.post(portal.base + f"/family/{school.u1}/consent", data={"given": "1"},
                         timeout=10).status_code == 403
    stranger, _ = portal.sign_in(phones["stranger"])
    page = stranger.get(portal.base + "/me", timeout=10)
    for step in ("consent", "open"):
        assert stranger.post(portal.base + f"/family/{school.u1}/{step}", data={"csrf": csrf_of(page), "given": "1"},
                             timeout=10).status_code == 404
    assert "consent" not in store.roster_users.find_one({"_id": school.u1})
    closed = guardian.post(portal.base + f"/family/{school.u1}/open", data={"csrf": csrf_of(child)}, timeout=10)
    assert closed.status_code == 403 and "需要先同意" in closed.text and "school_session" not in closed.cookies
    given = guardian.post(portal.base + f"/family/{school.u1}/consent", data={"csrf": csrf_of(child), "given": "1"},
                          timeout=10)
    assert "已同意" in given.text and store.roster_users.find_one({"_id": school.u1})["consent"]["by"] == \
        school.residents["A"]

    # the teacher sets an assignment with a file; a mislabelled file is refused and nothing stored
    klass = t1.get(portal.base + f"/school/classes/{school.c1}", timeout=10)
    assert "张小明" in klass.text and "（待监护人同意）" in klass.text            # 李小红: still none
    title = f"看图写话 {uuid.uuid4().hex[:6]}"
    form = {"csrf": csrf_of(klass), "title": title, "body": "看图写一段话", "due_day": str(clock.today() + timedelta(days=7)), "due_time": "20:00"}
    bad = t1.post(portal.base + f"/school/classes/{school.c1}/assignments", data=form, timeout=10,
                  files={"files": ("图.png", PDF, "image/png")})
    assert bad.status_code == 400 and "不符" in bad.text, bad.text[-1200:]
    assert store.schoolbag_assignments.find_one({"title": title}) is None
    assert t1.post(portal.base + f"/school/classes/{school.c1}/assignments", data={**form, "csrf": "x"},
                   files={"files": ("图.png", PNG, "image/png")}, timeout=10).status_code == 403
    made = t1.post(portal.base + f"/school/classes/{school.c1}/assignments", data=form, timeout=10,
                   files={"files": ("图.png", PNG, "image/png")})
    assert made.status_code == 200 and "作业已布置" in made.text and title in made.text
    assignment = store.schoolbag_assignments.find_one({"title": title})
    [attachment] = assignment["attachments"]

    # another class's teacher sees none of it
    t2, _ = teacher(portal, rpc, school.t2)
    for path in (f"/school/classes/{school.c1}", f"/school/assignments/{assignment['_id']}",
                 f"/school/files/{attachment['file_id']}"):
        assert t2.get(portal.base + path, timeout=10).status_code in (403, 404), path
    page = t2.get(portal.base + "/school", timeout=10)
    assert t2.post(portal.base + f"/school/classes/{school.c1}/codes", timeout=10,
                   data={"csrf": csrf_of(page), "student_id": school.u1}).status_code == 403

    # a pupil's code: once, not after it expires, not after too many wrong tries
    issued = t1.post(portal.base + f"/school/classes/{school.c1}/codes",
                     data={"csrf": csrf_of(klass), "student_id": school.u1}, timeout=10)
    code = CODE.search(issued.text).group(1)
    pupil, home = by_code(portal, code.lower().replace("-", " "))
    assert home.url.endswith("/school") and title in home.text and "你好" in home.text
    replayed = by_code(portal, code)[1]
    assert replayed.status_code == 404 and "已使用" in replayed.text and "school_session" not in replayed.cookies
    stale = rpc.elearning.school_code_issue({"role": "teacher", "id": school.t1}, school.u1)["code"]
    later(minutes=31)
    assert by_code(portal, stale)[1].status_code == 404
    later(minutes=-31)
    assert by_code(portal, "nonsense")[1].status_code == 400

    # the pupil starts a lesson (its link listed) and finishes it: the next lesson is where they go on
    course = f"SCHOOL-{uuid.uuid4().hex[:6]}"
    rpc.elearning.upsert_courses([{"course_id": course, "title": "古诗词欣赏", "provider": "区少年宫", "units": [{"title": "唐诗", "lessons": [
        {"id": "l1", "title": "静夜思", "renditions": {"web": {"url": "https://learn.example/poem/l1"}}},
        {"id": "l2", "title": "春晓", "renditions": {"web": {"url": "https://learn.example/poem/l2"}}}]}]}])
    step = {"csrf": csrf_of(home), "course_id": course, "lesson_id": "l1", "finished": "0"}
    going = pupil.post(portal.base + "/school/lessons", data=step, timeout=10)
    assert "古诗词欣赏" in going.text and "接着学：静夜思（已学 10%）" in going.text
    assert 'href="https://learn.example/poem/l1"' in going.text
    finished = pupil.post(portal.base + "/school/lessons", data={**step, "finished": "1"}, timeout=10)
    assert "这一课学完了" in finished.text and "接着学：春晓" in finished.text
    assert pupil.post(portal.base + "/school/lessons", data={**step, "lesson_id": "l9"}, timeout=10).status_code == 400

    # the pupil submits text and a file, sees the teacher's file; the teacher marks and comments
    task = pupil.get(portal.base + f"/school/assignments/{assignment['_id']}", timeout=10)
    assert "附件：图.png" in task.text
    assert pupil.get(portal.base + f"/school/files/{attachment['file_id']}", timeout=10).content == PNG
    sent = pupil.post(portal.base + f"/school/assignments/{assignment['_id']}/submit", timeout=10,
                      data={"csrf": csrf_of(task), "text": "小猫在晒太阳。"}, files={"files": ("作业.pdf", PDF,
                                                                                   "application/pdf")})
    assert sent.status_code == 200 and "作业已提交" in sent.text and "作业.pdf" in sent.text
    assert pupil.get(portal.base + f"/school/classes/{school.c1}", timeout=10).status_code == 403
    view = t1.get(portal.base + f"/school/assignments/{assignment['_id']}", timeout=10)
    assert "小猫在晒太阳" in view.text and "作业.pdf" in view.text
    marked = t1.post(portal.base + f"/school/assignments/{assignment['_id']}/mark", timeout=10,
                     data={"csrf": csrf_of(view), "student_id": school.u1, "mark": "95", "comment": "写得生动"})
    assert "批改已保存" in marked.text
    done = pupil.get(portal.base + f"/school/assignments/{assignment['_id']}", timeout=10)
    assert 'id="mark">95' in done.text and "写得生动" in done.text
    [sub_file] = store.schoolbag_submissions.find_one({"_id": f"{assignment['_id']}|{school.u1}"})["attachments"]
    sub_file = sub_file.removeprefix("file:")
    assert guardian.get(portal.base + f"/family/{school.u1}", timeout=10).status_code == 200
    for outsider in ({"role": "pupil", "id": school.u2}, {"role": "teacher", "id": school.t2},
                     {"role": "guardian", "id": school.residents["stranger"]}, {"role": "guardian",
                                                                                "id": school.residents["C"]}):
        with pytest.raises(RemoteError) as hidden:   # a classmate, another class's teacher, others' guardians
            rpc.elearning.school_file(outsider, sub_file)
        assert hidden.value.exc_type == "NotFound", outsider
    assert rpc.elearning.school_file({"role": "guardian", "id": school.residents["A"]}, sub_file)["name"] == "作业.pdf"
    assert t2.get(portal.base + f"/school/files/{sub_file}", timeout=10).status_code == 404

    # one pupil's guardians: a thread of its own; another class's pupil is refused, nothing stored
    form = t1.get(portal.base + f"/school/pupils/{school.u1}/message?class={school.c1}", timeout=10)
    one = t1.post(portal.base + f"/school/pupils/{school.u1}/message", timeout=10,
                  data={"csrf": csrf_of(form), "class_id": school.c1, "text": "小明今天表现很好"})
    assert one.status_code == 200 and "消息已发送" in one.text and "小明今天表现很好" in one.text
    assert t1.post(portal.base + f"/school/pupils/{school.u3}/message", timeout=10, data={
        "csrf": csrf_of(form), "class_id": school.c3, "text": "越权"}).status_code == 403
    assert store.schoolbag_messages.find_one({"text": "越权"}) is None
    assert t1.get(portal.base + f"/school/pupils/{school.u3}/message?class={school.c3}", timeout=10).status_code == 403

    # the whole class's guardians get a message; the teacher sees who read it
    text = f"明天春游 {uuid.uuid4().hex[:4]}"
    told = t1.post(portal.base + f"/school/classes/{school.c1}/message", data={"csrf": csrf_of(klass), "text": text},
                   timeout=10)
    assert "已发给全班家长" in told.text
    [thread] = [t for t in rpc.elearning.threads_for({"role": "guardian", "id": school.residents["A"]})
                if t["student_id"] == school.u1]
    before = t1.get(portal.base + f"/school/threads/{thread['thread_id']}", timeout=10)
    assert text in before.text and "家长未读" in before.text
    assert text in guardian.get(portal.base + f"/family/threads/{thread['thread_id']}", timeout=10).text
    assert "家长已读" in t1.get(portal.base + f"/school/threads/{thread['thread_id']}", timeout=10).text
    reply = t1.post(portal.base + f"/school/threads/{thread['thread_id']}/reply", timeout=10,
                    data={"csrf": csrf_of(before), "text": "记得带雨具"})
    assert "消息已发送" in reply.text and "记得带雨具" in reply.text
    assert t2.post(portal.base + f"/school/threads/{thread['thread_id']}/reply", timeout=10, data={
        "csrf": csrf_of(page), "text": "越权回复"}).status_code == 403
    assert store.schoolbag_messages.find_one({"text": "越权回复"}) is None

    # the guardian's view of the child: opened from /family, signed out back to /family
    child = guardian.get(portal.base + f"/family/{school.u1}", timeout=10)
    view = guardian.post(portal.base + f"/family/{school.u1}/open", data={"csrf": csrf_of(child)}, timeout=10)
    assert view.url.endswith("/school") and "家长正在查看" in view.text and "张小明" in view.text
    back = guardian.post(portal.base + "/school/logout", data={"csrf": csrf_of(view)}, timeout=10)
    assert back.url.endswith("/family") and "张小明" in back.text

    # a forged session cookie is no session; consent withdrawn ends the pupil's session
    forged = requests.Session()
    forged.cookies.set("school_session", "made-up.signature")
    assert forged.get(portal.base + "/school", timeout=10).url.endswith("/school/login")
    child = guardian.get(portal.base + f"/family/{school.u1}", timeout=10)
    guardian.post(portal.base + f"/family/{school.u1}/consent", data={"csrf": csrf_of(child), "given": "0"}, timeout=10)
    assert pupil.get(portal.base + "/school", timeout=10).url.endswith("/school/login")

    # the hourly purge forgets sessions and codes past their expiry (a teacher's lasts 8 hours at most)
    assert store.school_sessions.find_one({"user_id": school.t1})
    school_access_store.purge(store, school_access.stamp(clock.now() + timedelta(hours=9)))
    assert store.school_sessions.find_one({"user_id": school.t1}) is None


def test_too_many_wrong_codes_from_one_terminal(school_pages, later):
    portal, _, _ = school_pages
    later(hours=5)   # an hour of its own: the session's other tests sign in from this address too
    browser = requests.Session()
    answers = [by_code(portal, "ZZZZ-ZZZ" + str(2 + n % 8), browser)[1].status_code for n in range(12)]
    assert answers[:10] == [404] * 10 and answers[-2:] == [429, 429]
