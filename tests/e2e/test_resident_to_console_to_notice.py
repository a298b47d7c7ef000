"""End to end through the real broker and all services: a resident registered in one
committee and living in another submits a residence matter at their residence desk through
GraphQL; it is handled by the residence committee, completed by a clerk in the console, and
the resident reads the completion notice through `me`."""
import re
import uuid

import requests

from gateway import auth
from gateway.service import GatewayService
from services.community import staff
from services.community.service import CommunityService
from services.elearning.service import ElearningService
from services.library.service import LibraryService
from support import id_number, load_demo_district, wait_for, web_address

SECRET = "e2e-test-secret-of-at-least-32-bytes"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def test_resident_submits_clerk_completes_in_console_resident_reads_notice(start_service, service_config, rpc,
                                                                         settings):
    for cls in (CommunityService, LibraryService, ElearningService):
        start_service(cls)
    gw = start_service(GatewayService, service_config("gateway", JWT_SECRET=SECRET, RPC_TIMEOUT=3.0))
    base = web_address(gw)
    load_demo_district(rpc)

    # 人户分离: registered in 龙华一村 (C0101), living in 枫林路 (C0201)
    resident = rpc.community.register_resident({
        "id_number": id_number(), "name": "王芳", "phone": "13800138002", "registered_committee": "C0101",
        "residence_committee": "C0201", "address": "枫林路88弄3号502室"})
    token = auth.mint(auth.TokenConfig(SECRET, settings.jwt_issuer, settings.jwt_audience), "resident",
                      resident["resident_id"])

    def graphql(query):
        answer = requests.post(base + "/graphql", json={"query": query}, timeout=15,
                               headers={"Authorization": f"Bearer {token}"}).json()
        assert "errors" not in answer, answer
        return answer["data"]

    case = graphql('mutation { submitCase(matterCode: "HOME_CARE_SUBSIDY", materials: ["居民身份证"]) '
                   '{ id acceptingDesk { code } handlingCommittee { code } } }')["submitCase"]
    assert case["acceptingDesk"]["code"] == "D020101" and case["handlingCommittee"]["code"] == "C0201"

    # a clerk of the residence committee, at the console
    login, password = f"clerk-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    rpc.community.staff_add(login, "李静", "C0201", staff.hash_password(password))
    desk = requests.Session()
    page = desk.get(base + "/console/login", timeout=15)
    desk.post(base + "/console/login", data={"csrf": CSRF.search(page.text).group(1), "login": login,
                                             "password": password}, timeout=15)
    queue = desk.get(base + "/console", timeout=15)
    assert case["id"] in queue.text
    for version, action in ((1, "accept"), (2, "complete")):
        detail = desk.get(f"{base}/console/cases/{case['id']}", timeout=15)
        done = desk.post(f"{base}/console/cases/{case['id']}/{action}", timeout=15, allow_redirects=False,
                         data={"csrf": CSRF.search(detail.text).group(1), "expected_version": version})
        assert done.status_code == 303, done.text
    assert case["id"] not in desk.get(base + "/console", timeout=15).text  # it left the queue

    def completion_notice():
        me = graphql("{ me { cases { id status } notices { kind title body } } }")["me"]
        assert me["cases"][0]["status"] == "completed"
        return [n for n in me["notices"] if n["kind"] == "completion"]
    [notice] = wait_for(completion_notice)
    assert "王芳" in notice["body"] and "居家养老服务补贴申请" in notice["title"] + notice["body"]
