"""`suite up` / `status` / `down` as a new user runs them, on ports and a var folder of
this test's own (so it never touches a suite the developer has running)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from support import RUN_ID, free_port
from infra.local import demo_data, processes
from services.common import clock

SUITE = str(Path(sys.executable).parent / "suite")


@pytest.fixture
def suite_env(tmp_path, settings):
    env = {**os.environ, "SUITE_VAR_DIR": str(tmp_path / "var"), "AMQP_URI": settings.amqp_uri,
           "SUITE_DB_PREFIX": f"t{RUN_ID}_e2e", "EMBEDDED_MONGO_PORT": str(free_port()),
           "GATEWAY_PORT": str(free_port()), "COMMUNITY_PORT": str(free_port()),
           "LIBRARY_PORT": str(free_port()), "ELEARNING_PORT": str(free_port()),
           "SIP2_PORT": str(free_port())}
    env.pop("MONGO_URI", None)  # the embedded default, as a new user gets it
    yield env
    subprocess.run([SUITE, "down"], env=env, capture_output=True, timeout=120)


def run(env, *args, timeout=180):
    return subprocess.run([SUITE, *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_up_serves_health_seeds_once_and_down_stops_everything(suite_env):
    up = run(suite_env, "up")
    assert up.returncode == 0, up.stdout + up.stderr
    token = up.stdout.strip().splitlines()[-1]
    assert token.count(".") == 2  # a JWT alone on the last line
    assert f"{len(demo_data.RESIDENTS)} residents ({len(demo_data.RESIDENTS)} new)" in up.stdout and "2 courses (2 new" in up.stdout

    url = f"http://127.0.0.1:{suite_env['GATEWAY_PORT']}/graphql"
    answer = requests.post(url, json={"query": "{ health { service status } }"}, timeout=10).json()
    assert {h["service"]: h["status"] for h in answer["data"]["health"]} == {
        "community": "up", "library": "up", "elearning": "up"}
    today = clock.today().isoformat()   # the demo's TV lessons start today
    guide = requests.post(url, json={"query": f'{{ tvGuide(day: "{today}") {{ courseTitle startsAt }} }}'},
                          timeout=10).json()
    assert guide["data"]["tvGuide"] == [{"courseTitle": "智能手机入门（老年班）", "startsAt": f"{today}T19:00"}], guide
    places = requests.post(url, json={"query": "{ places(kind: \"committee\") { name parent } }"}, timeout=10).json()
    committees = {p["name"]: p["parent"] for p in places["data"]["places"]}
    assert committees["新丰村村委会"] == "SD03" and committees["梅园一村居委会"] == "SD01"   # Pudong: 镇 and 村委 too
    follow_one_case_from_the_resident_to_the_clerk(suite_env, up.stdout, url, token)

    status = run(suite_env, "status")
    assert status.returncode == 0, status.stdout
    assert status.stdout.split().count("healthy") == 5   # the store too: it answers a ping

    again = run(suite_env, "up")  # running twice starts nothing twice and adds no data twice
    assert again.returncode == 0, again.stderr
    assert f"{len(demo_data.RESIDENTS)} residents (0 new)" in again.stdout and "2 courses (0 new" in again.stdout
    assert "already running" in again.stdout
    # the demo pilot school: 张伟 a guardian, his child's card credited once, one assignment
    children = requests.post(url, headers={"Authorization": f"Bearer {token}"}, timeout=10, json={
        "query": "{ me { children { name assignments { title } wallet { balanceFen } } } }"}).json()
    [child] = children["data"]["me"]["children"]
    assert child["name"] == "张小明" and child["wallet"]["balanceFen"] == 5000, children
    assert [a["title"] for a in child["assignments"]] == ["口算练习（第三页）"]
    sign_in_the_demo_teacher_and_charge_at_the_demo_terminal(suite_env)
    # seeding, twice, raised nothing the community service would log as a warning
    community_log = (Path(suite_env["SUITE_VAR_DIR"]) / "log" / "community.log").read_text(encoding="utf-8")
    assert "error handling worker" not in community_log, community_log[-2000:]

    recorded = processes.recorded(suite_env["SUITE_VAR_DIR"])
    assert {r.name for r in recorded} == {"store", "community", "library", "elearning", "gateway"}
    down = run(suite_env, "down")
    assert down.returncode == 0
    assert not any(processes.alive(r) for r in recorded)
    assert processes.recorded(suite_env["SUITE_VAR_DIR"]) == []
    assert (Path(suite_env["SUITE_VAR_DIR"]) / "mongo").exists()  # the data is kept


def follow_one_case_from_the_resident_to_the_clerk(suite_env, printed: str, url: str, token: str) -> None:
    """As the README tells a new user: the demo resident submits a case with the token `suite up`
    printed, and the demo clerk it names finds it in the console's queue."""
    me = requests.post(url, json={"query": "{ me { name } }"}, headers={"Authorization": f"Bearer {token}"},
                       timeout=10).json()
    assert me["data"]["me"]["name"] == "张伟", me
    case = requests.post(url, headers={"Authorization": f"Bearer {token}"}, timeout=10, json={
        "query": 'mutation { submitCase(matterCode: "ELDERLY_ALLOWANCE", materials: ["居民身份证"]) { number } }'
    }).json()["data"]["submitCase"]
    login, password = re.search(r"demo clerk (\S+) / (\S+)\)", printed).groups()
    console = f"http://127.0.0.1:{suite_env['GATEWAY_PORT']}/console"
    desk = requests.Session()
    form = desk.get(console + "/login", timeout=10).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    signed = desk.post(console + "/login", data={"csrf": csrf, "login": login, "password": password}, timeout=10)
    assert signed.status_code == 200 and case["number"] in signed.text, signed.text[-2000:]
    # the demo librarian it names signs in to the library's conflicts
    login, password = re.search(r"demo librarian (\S+) / (\S+)\)", printed).groups()
    shelf = requests.Session()
    csrf = re.search(r'name="csrf" value="([^"]+)"', shelf.get(console + "/login", timeout=10).text).group(1)
    signed = shelf.post(console + "/login", data={"csrf": csrf, "login": login, "password": password}, timeout=10)
    assert signed.status_code == 200 and signed.url.endswith("/console/library/conflicts") and "借还冲突" in signed.text
    # and the demo supervisor to the district's red and yellow cases, every sub-district of it
    login, password = re.search(r"demo supervisor (\S+) / (\S+)\)", printed).groups()
    watch = requests.Session()
    csrf = re.search(r'name="csrf" value="([^"]+)"', watch.get(console + "/login", timeout=10).text).group(1)
    signed = watch.post(console + "/login", data={"csrf": csrf, "login": login, "password": password}, timeout=10)
    assert signed.status_code == 200 and signed.url.endswith("/console/supervision") and "红黄牌监察" in signed.text
    assert 'data-subdistrict="SD01"' in signed.text and 'data-subdistrict="SD02"' in signed.text
    # and the demo editor to the popular-science uploads waiting for review
    login, password = re.search(r"demo editor (\S+) / ([^\s;]+);", printed).groups()
    editor = requests.Session()
    csrf = re.search(r'name="csrf" value="([^"]+)"', editor.get(console + "/login", timeout=10).text).group(1)
    signed = editor.post(console + "/login", data={"csrf": csrf, "login": login, "password": password}, timeout=10)
    assert signed.status_code == 200 and signed.url.endswith("/console/popsci"), signed.url
    # and the demo centre clerk to the queue of the matters its sub-district handles
    login, password = re.search(r"demo centre clerk (\S+) / (\S+)\)", printed).groups()
    centre = requests.Session()
    csrf = re.search(r'name="csrf" value="([^"]+)"', centre.get(console + "/login", timeout=10).text).group(1)
    signed = centre.post(console + "/login", data={"csrf": csrf, "login": login, "password": password}, timeout=10)
    assert signed.status_code == 200 and signed.url.endswith("/console") and "案件队列 <small>陆家嘴街道" in signed.text, signed.text[-1500:]
    # `suite token --role resident` with no id speaks for the same demo resident
    plain = run(suite_env, "token", "--role", "resident")
    assert plain.returncode == 0 and token.split(".")[1] != plain.stdout.split()[-1].split(".")[1]
    again = requests.post(url, json={"query": "{ me { name } }"}, timeout=10,
                          headers={"Authorization": f"Bearer {plain.stdout.split()[-1]}"}).json()
    assert again["data"]["me"]["name"] == "张伟", again


def sign_in_the_demo_teacher_and_charge_at_the_demo_terminal(suite_env) -> None:
    """As `suite up` tells a new user: the demo teacher signs in at /school/login by the code
    `suite school code` prints; the demo canteen terminal charges with the key `suite school demo`
    shows (kept in var/, the same on every `suite up`)."""
    from infra import school_terminals
    from infra.local import demo_school

    code = run(suite_env, "school", "code", demo_school.TEACHER)
    assert code.returncode == 0, code.stderr
    school = f"http://127.0.0.1:{suite_env['GATEWAY_PORT']}/school"
    teacher = requests.Session()
    form = teacher.get(school + "/login", timeout=10).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    home = teacher.post(school + "/login", data={"csrf": csrf, "code": code.stdout.split()[-1]}, timeout=10)
    assert home.status_code == 200 and "三年级(2)班" in home.text, home.text[-1000:]
    refused = run(suite_env, "school", "code", demo_school.PUPIL)   # 张伟 has not consented yet
    assert refused.returncode == 1 and "consent" in refused.stderr
    shown = run(suite_env, "school", "demo")
    assert shown.returncode == 0 and demo_school.TERMINAL in shown.stdout
    request, signature = school_terminals.signed_charge(demo_school.TERMINAL, shown.stdout.split()[-1],
                                                        demo_school.PUPIL, 300)
    status, answer = school_terminals.send(f"http://127.0.0.1:{suite_env['ELEARNING_PORT']}", request, signature)
    assert status == 200, answer


def test_token_prints_the_secret_alone_on_its_last_line(suite_env):
    out = run(suite_env, "token", "--role", "staff", "--committee", "C0101", "--id", "clerk-1")
    assert out.returncode == 0
    assert out.stdout.strip().splitlines()[-1].count(".") == 2
    refused = run(suite_env, "token", "--role", "staff")
    assert refused.returncode == 2 and "--committee" in refused.stderr
    centre = run(suite_env, "token", "--role", "centre")
    assert centre.returncode == 2 and "--subdistrict" in centre.stderr
    nobody = run(suite_env, "token", "--role", "resident")   # nothing runs here: no demo resident to speak for
    assert nobody.returncode == 2 and "--id" in nobody.stderr and nobody.stdout == ""
