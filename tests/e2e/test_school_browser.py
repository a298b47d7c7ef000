"""The e-schoolbag's people in a real browser at a phone's size (one headless Chromium, a shared
terminal, axe-core on every page): a guardian signs in to the portal, consents for their child and opens the child's
view, where the child hands in text and a photo; the teacher signs in by the code ``suite``
gives, sets an assignment with a file, marks and comments the child's work, gives the child a
code and writes to the whole class; the child signs in by that code on the terminal and reads
the mark. No serious or critical axe violation, nothing wider than the phone, no console
error, no failed request."""
import base64
import uuid
from datetime import timedelta

import pytest

from services.common import clock
from services.elearning.service import ElearningService
from support.browser import PHONE, run, serious
from support.portal import CODE, start_portal
from support.school_data import make_school

SECRET = "school-browser-secret-of-at-least-32-bytes"
DESK = {"id": "desk-1", "role": "staff", "committee": "C0101"}
FITS = "document.documentElement.scrollWidth <= window.innerWidth + 1"
MAIN = "document.querySelector('main').innerText"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
pytestmark = pytest.mark.timeout(300)


def test_guardian_pupil_and_teacher_on_a_phone(start_service, service_config, rpc, tmp_path):
    portal = start_portal(start_service, service_config, rpc, tmp_path, SECRET, ElearningService)
    (tmp_path / "roster").mkdir()
    school = make_school(rpc, tmp_path / "roster")
    phone = "133" + f"{uuid.uuid4().int % 10 ** 8:08d}"
    rpc.community.change_phone(DESK, {"resident_id": school.residents["A"], "phone": phone})
    photo = tmp_path / "作业.png"
    photo.write_bytes(PNG)
    task = rpc.elearning.publish_assignment_with_files(
        school.t1, school.c1, "看图写话", "看图写一段话", f"{clock.today() + timedelta(days=2)}T20:00:00+08:00",
        [{"name": "图.png", "content_type": "image/png", "data_base64": base64.b64encode(PNG).decode()}])
    base, aid = portal.base, task["assignment_id"]

    code = rpc.elearning.school_code_issue({"role": "operator", "id": "test"}, school.t1)["code"]
    seen = run([
        # the guardian: consents, opens the child's view, where the child hands in text and a photo
        {"goto": base + "/login"}, {"fill": "#phone", "value": phone}, {"click": "#send-code"},
        {"fillFrom": "#code", "file": str(portal.outbox), "regex": CODE}, {"click": "#sign-in"},
        {"goto": base + f"/family/{school.u1}"}, {"axe": "axe_child"},
        {"click": "#consent-button"}, {"click": "#open-schoolbag"}, {"axe": "axe_pupil_home"},
        {"eval": "child_home", "js": MAIN},
        {"click": f"[data-assignment='{aid}'] a"}, {"axe": "axe_task"},
        {"fill": "#text", "value": "小猫在晒太阳。"}, {"upload": "#files", "files": [str(photo)]},
        {"click": "#submit"}, {"eval": "submitted", "js": MAIN}, {"eval": "fits_pupil", "js": FITS},
        # the teacher, on the same terminal: signing in ends the child's view
        {"goto": base + "/school/login"}, {"axe": "axe_login"}, {"fill": "#code", "value": code},
        {"click": "#sign-in"}, {"axe": "axe_classes"},
        {"click": f"[data-class='{school.c1}'] a"}, {"axe": "axe_class"},
        {"fill": "#title", "value": "古诗背诵"}, {"fill": "#due-day", "value": str(clock.today() + timedelta(days=3))},
        {"upload": "#files", "files": [str(photo)]}, {"click": "#publish"}, {"eval": "published", "js": MAIN},
        {"goto": base + f"/school/assignments/{aid}"}, {"axe": "axe_submissions"},
        {"fill": f"[data-pupil='{school.u1}'] input[name=mark]", "value": "95"},
        {"fill": f"[data-pupil='{school.u1}'] textarea", "value": "写得生动"},
        {"click": f"[data-pupil='{school.u1}'] button"}, {"eval": "marked", "js": MAIN},
        {"goto": base + f"/school/classes/{school.c1}"},
        {"click": f"[data-pupil='{school.u1}'] button"}, {"axe": "axe_code"},
        {"eval": "pupil_code", "js": "document.querySelector('#pupil-code').innerText"},
        {"goto": base + f"/school/classes/{school.c1}"},
        {"fill": "#class-text", "value": "明天春游，请带水。"}, {"click": "#send-class"},
        {"click": "#threads li a"}, {"axe": "axe_thread"}, {"eval": "thread", "js": MAIN},
        {"eval": "fits_teacher", "js": FITS}, {"click": "#sign-out"},
        # the child, by the code the teacher gave: reads the mark
        {"fill": "#code", "seen": "pupil_code"}, {"click": "#sign-in"},
        {"axe": "axe_home"}, {"eval": "home", "js": MAIN},
        {"click": "#marked a"}, {"eval": "mark", "js": MAIN}, {"eval": "fits", "js": FITS},
    ], viewport=PHONE, mobile=True)
    assert "看图写话" in seen["child_home"] and "家长正在查看" in seen["child_home"]
    assert "作业已提交" in seen["submitted"] and "作业.png" in seen["submitted"]
    assert "作业已布置" in seen["published"] and "古诗背诵" in seen["published"]
    assert "批改已保存" in seen["marked"] and "小猫在晒太阳" in seen["marked"]
    assert "明天春游" in seen["thread"] and "家长未读" in seen["thread"]
    assert "古诗背诵" in seen["home"] and "成绩 95" in seen["home"] and "写得生动" in seen["mark"]
    assert "家长正在查看" not in seen["home"]

    for name, found in seen.items():
        if name.startswith("axe_"):
            assert serious(found) == [], (name, found)
        if name.startswith("fits"):
            assert found is True, name
    assert seen["console"] == [] and seen["failedRequests"] == []
