"""Electronic supervision in the console through a real gateway and community service, as a
browser uses it with plain HTTP: a supervisor of a sub-district signs in to the red and yellow
counts (the same as the service's), opens a committee's cases and a case, urges it (CSRF-checked;
a reply day in the past refused, nothing stored) and can take no clerk's step; the handling
committee's clerk finds the 督办 in the inbox, answers it on the case page; neither opens the
other's pages."""
import re
import uuid

from test_console import Desk, start_console  # noqa: F401 - shared with the clerks' console tests

from services.common import clock
from services.common.storage import due_key
from support import id_number, wait_for, web_address


def test_a_supervisor_sees_red_and_urges_and_the_clerk_answers(start_service, service_config, rpc, db, settings,
                                                               monkeypatch, capsys):
    from infra.cli import main as cli

    containers = start_console(start_service, service_config, rpc)
    base = web_address(containers["gateway"])
    monkeypatch.setenv("AMQP_URI", settings.amqp_uri)

    def account(role, committee=None, subdistrict=None):
        """Added as an operator does (``suite staff add``), signed in with the password it printed."""
        login = f"{role[:3]}-{uuid.uuid4().hex[:8]}"
        whose = ["--committee", committee] if committee else [f"--{role}", subdistrict]
        assert cli.main(["staff", "add", login, *whose, "--name", "周监察"]) == 0
        printed = capsys.readouterr().out.strip().splitlines()
        password = printed[-1]
        assert subdistrict is None or f"sub-district {subdistrict}" in printed[-2]
        desk = Desk(base)
        signed_in = desk.sign_in(login, password)
        assert signed_in.status_code == 303
        desk.login, desk.home = login, signed_in.headers["Location"]
        return desk
    supervisor, clerk = account("supervisor", subdistrict="SD02"), account("staff", committee="C0201")
    # a centre needs its sub-district; a supervisor's must be one
    assert cli.main(["staff", "add", f"cen-{uuid.uuid4().hex[:8]}", "--centre", "C0201", "--name", "x"]) == 1
    assert "unknown sub-district" in capsys.readouterr().err
    assert supervisor.home == "/console/supervision" and clerk.home == "/console"
    rid = rpc.community.register_resident({"id_number": id_number(), "name": "孙丽", "residence_committee": "C0201",
                                           "address": "枫林路3号"})["resident_id"]
    clerk_actor = {"id": clerk.login, "role": "staff", "committee": "C0201"}
    case_id = rpc.community.submit_case(clerk_actor, {"resident_id": rid, "matter_code": "ELDERLY_ALLOWANCE"})["case_id"]
    rpc.community.act_on_case(clerk_actor, {"case_id": case_id, "action": "accept"})
    db("community").cases.update_one({"_id": case_id}, {"$set": {"deadline": "2026-10-09",
                                                                 "watch": due_key("2026-10-09")}})
    rpc.community.check_deadlines_now("2026-10-12")   # past its deadline: red

    counts = supervisor.get("/console/supervision")
    assert counts.status_code == 200 and 'data-subdistrict="SD01"' not in counts.text   # its own sub-district only
    row = re.search(r'<tr data-committee="C0201"[^>]*>.*?class="n-overdue">(\d+)<', counts.text, re.S)
    service = rpc.community.supervision_counts({"id": supervisor.login, "role": "supervisor", "subdistrict": "SD02"})
    expected = next(c for s in service["subdistricts"] for c in s["committees"] if c["code"] == "C0201")["overdue"]
    assert int(row.group(1)) == expected >= 1
    listed = supervisor.get("/console/supervision/committees/C0201")
    assert f'data-case="{case_id}"' in listed.text and "红牌" in listed.text
    assert supervisor.get("/console/supervision/committees/C0101").status_code == 403   # another sub-district
    page = supervisor.get(f"/console/cases/{case_id}")
    assert 'id="form-urge"' in page.text and 'id="form-start"' not in page.text
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)

    def stored():
        return db("community").cases.find_one({"_id": case_id})
    version = stored()["version"]
    today = clock.today().isoformat()
    # no CSRF token, a day in the past, a clerk's step: refused, nothing stored
    assert supervisor.post(f"/console/supervision/cases/{case_id}/urge", {"note": "请加快", "reply_by": today}) \
        .status_code == 403
    past = supervisor.post(f"/console/supervision/cases/{case_id}/urge",
                           {"csrf": token, "note": "请加快", "reply_by": "2020-01-01"})
    assert past.status_code == 400 and "in the past" in past.text
    assert supervisor.post(f"/console/cases/{case_id}/start", {"csrf": token, "expected_version": version}) \
        .status_code == 403
    assert stored()["version"] == version and "urges" not in stored()
    urged = supervisor.post(f"/console/supervision/cases/{case_id}/urge",
                            {"csrf": token, "note": "已超期，请今日说明进度", "reply_by": today})
    assert urged.status_code == 303
    assert "已超期，请今日说明进度" in supervisor.get(urged.headers["Location"]).text
    # its reply day passed unanswered: flagged on the supervisor's list and the case page
    assert "urge-late" not in supervisor.get("/console/supervision/committees/C0201").text
    db("community").cases.update_one({"_id": case_id}, {"$set": {"urges": [   # as if that day had passed
        {**stored()["urges"][0], "reply_by": "2020-01-02"}], "urge_due": "2020-01-02"}})
    row = re.search(rf'<tr[^>]*data-case="{case_id}".*?</tr>', supervisor.get("/console/supervision/committees/C0201")
                    .text, re.S).group(0)
    assert "逾期未答复 1 件" in row and "逾期未答复" in supervisor.get(f"/console/cases/{case_id}").text
    counts = supervisor.get("/console/supervision").text   # and counted per committee, from the case's urge_due
    late_here = re.search(r'<tr data-committee="C0201"[^>]*>.*?class="n-late_urges">(\d+)<', counts, re.S).group(1)
    assert int(late_here) == db("community").cases.count_documents({"handling_committee": "C0201",
                                                                   "urge_due": {"$lt": today}}) >= 1

    # the clerk: the 督办 in the inbox, answered on the case page; the supervision pages are not theirs
    inbox = clerk.get("/console/inbox").text
    assert "督办" in inbox and f"/console/cases/{case_id}" in inbox
    urge_id = stored()["urges"][0]["urge_id"]
    case_page = clerk.get(f"/console/cases/{case_id}").text
    assert f'id="form-answer-{urge_id}"' in case_page
    token = re.search(r'name="csrf" value="([^"]+)"', case_page).group(1)
    assert clerk.post(f"/console/cases/{case_id}/urges/{urge_id}/answer", {"csrf": token, "answer": "  "}) \
        .status_code == 400
    answered = clerk.post(f"/console/cases/{case_id}/urges/{urge_id}/answer",
                          {"csrf": token, "answer": "已联系居民补齐材料，明日办结"})
    assert answered.status_code == 303
    assert stored()["urges"][0]["answer"] == "已联系居民补齐材料，明日办结"
    assert "urge-late" not in supervisor.get(f"/console/cases/{case_id}").text   # answered, late no more
    assert "urge_due" not in stored()   # and counted no more
    assert [e["action"] for e in stored()["trail"]][-2:] == ["urge", "urge_answered"]
    assert clerk.get("/console/supervision").status_code == 403
    assert supervisor.post(f"/console/cases/{case_id}/urges/{urge_id}/answer", {"csrf": token, "answer": "x"}) \
        .status_code in (403,)

    # a sub-district centre: the SUBDISTRICT matter accepted at a committee's desk is its to handle
    rpc.community.upsert_matters([{"code": "OLD_AGE_CARD", "name": "敬老卡申领", "jurisdiction": "SUBDISTRICT",
                                   "promised_days": 5, "public": False}])   # not public: the catalogue tests' list
    centre = account("centre", subdistrict="SD02")
    handled = rpc.community.submit_case(clerk_actor, {"resident_id": rid, "matter_code": "OLD_AGE_CARD"})["case_id"]
    rpc.community.act_on_case(clerk_actor, {"case_id": handled, "action": "accept"})
    assert centre.home == "/console" and f'data-case="{handled}"' in centre.get("/console").text
    page = centre.get(f"/console/cases/{handled}").text
    assert 'id="form-complete"' in page and 'id="form-urge"' not in page
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    version = rpc.community.get_case({"id": "x", "role": "admin"}, handled)["version"]
    assert centre.post(f"/console/cases/{handled}/complete", {"csrf": token, "expected_version": version}) \
        .status_code == 303
    assert db("community").cases.find_one({"_id": handled})["status"] == "completed"
    # it reads its committees' cases (acting on none) and its sub-district's counts; no resident's record
    assert 'id="form-start"' not in centre.get(f"/console/cases/{case_id}").text
    assert 'data-subdistrict="SD02"' in centre.get("/console/supervision").text
    # and at its own desk it looks a resident up and accepts a new case for them (logged for the resident)
    number = db("community").residents.find_one({"_id": rid})["id_number"]
    found = centre.post("/console/residents", {"csrf": token, "id_number": number})
    assert found.status_code == 200 and 'id="record-move"' not in found.text   # moves are the committees'
    form = centre.get(f"/console/residents/{rid}/apply", params={"matter": "OLD_AGE_CARD"})
    taken = centre.post(f"/console/residents/{rid}/apply", {"csrf": token, "matter": "OLD_AGE_CARD", "note": "窗口"})
    assert form.status_code == 200 and taken.status_code == 303
    at_desk = db("community").cases.find_one({"_id": taken.headers["Location"].split("/console/cases/")[1].split("?")[0]})
    assert (at_desk["accepting_desk"], at_desk["handling_committee"], at_desk["trail"][0]["note"]) == ("D02C", "SD02", "窗口")
    wait_for(lambda: f"/console/cases/{handled}" in centre.get("/console/inbox").text)   # 收受分离: told

