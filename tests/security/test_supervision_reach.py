"""Who reaches what under electronic supervision, against the whole suite over GraphQL: a
supervisor reads the cases of their scope and acts on none (only 督办), a supervisor or centre of
another sub-district and a committee clerk of another sub-district see nothing of the case, a
clerk issues no 督办; bad 督办 and ratings are refused with a clear code and store nothing. (The
role matrix, tests/integration/test_gateway_role_matrix.py, has every operation against every
role; the counts against the cases made: tests/service/test_supervision.py.)"""
from hostile_suite import codes, driver, suite  # noqa: F401  (fixtures)

from gateway import auth
from services.common import clock

ACT = "mutation($id: ID!, $a: CaseActionKind!) { actOnCase(caseId: $id, action: $a) { status } }"
READ = "query($id: ID!) { case(id: $id) { id residentName urges { id note answer } rating { score } } }"
URGE = ("mutation($id: ID!, $n: String!, $d: String!) { urgeCase(caseId: $id, note: $n, replyBy: $d) "
        "{ urges { id by replyBy answer } } }")
ANSWER = ("mutation($id: ID!, $u: ID!) { answerUrge(caseId: $id, urgeId: $u, answer: \"已补齐材料，今日办结\") "
          "{ urges { answer answeredBy } } }")
RATE = "mutation($id: ID!, $s: Int!) { rateCase(caseId: $id, score: $s, comment: \"很好\") { rating { score } } }"
TODAY = clock.today().isoformat()


def test_supervisors_read_and_urge_only_in_scope_and_bad_input_stores_nothing(suite, rpc, db):  # noqa: F811
    resident = suite.resident["resident_id"]   # lives in C0201, of SD02
    case_id = rpc.community.submit_case({"id": resident, "role": "resident"},
                                        {"resident_id": resident, "matter_code": "ELDERLY_ALLOWANCE"})["case_id"]
    rpc.community.act_on_case({"id": "clerk-fl", "role": "staff", "committee": "C0201"},
                              {"case_id": case_id, "action": "accept"})

    def token(role, subdistrict=None, committee=None):
        return auth.mint(suite.tokens, role, f"{role}-{subdistrict or committee or 'district'}", committee=committee,
                         subdistrict=subdistrict)
    ours, theirs, district = token("supervisor", "SD02"), token("supervisor", "SD01"), token("supervisor")
    clerk_here, clerk_elsewhere = token("staff", committee="C0201"), token("staff", committee="C0101")

    def stored():
        return db("community").cases.find_one({"_id": case_id})
    version = stored()["version"]
    # a supervisor in scope reads the case and acts on none
    for who in (ours, district):
        assert suite.ask(READ, {"id": case_id}, who)["data"]["case"]["residentName"] == "王芳"
        for action in ("START", "COMPLETE", "REJECT"):
            assert codes(suite.ask(ACT, {"id": case_id, "a": action}, who)) == ["FORBIDDEN"]
    assert codes(suite.ask('mutation($r: ID!) { submitCase(matterCode: "ELDERLY_ALLOWANCE", residentId: $r) { id } }',
                           {"r": resident}, ours)) == ["FORBIDDEN"]
    # another sub-district's supervisor, centre and clerk see nothing of it; a clerk issues no 督办
    for who in (theirs, token("centre", "SD01"), clerk_elsewhere):
        answer = suite.ask(READ, {"id": case_id}, who)
        assert codes(answer) == ["NOT_FOUND"] and "王芳" not in str(answer)
    assert codes(suite.ask(URGE, {"id": case_id, "n": "请加快", "d": TODAY}, theirs)) == ["NOT_FOUND"]
    assert codes(suite.ask('{ staffQueue(committee: "C0201") { cases { id } } }', None, clerk_elsewhere)) \
        == ["FORBIDDEN"]
    for who in (clerk_here, clerk_elsewhere):
        assert codes(suite.ask(URGE, {"id": case_id, "n": "请加快", "d": TODAY}, who)) == ["FORBIDDEN"]
        assert codes(suite.ask("{ supervision { scope } }", None, who)) == ["FORBIDDEN"]
    # bad 督办: a day in the past, not a day, no note, an unknown case
    for note, day, code in (("请加快", "2020-01-01", "BAD_USER_INPUT"), ("请加快", "明天", "BAD_USER_INPUT"),
                            ("  ", TODAY, "BAD_USER_INPUT")):
        assert codes(suite.ask(URGE, {"id": case_id, "n": note, "d": day}, ours)) == [code], (note, day)
    assert codes(suite.ask(URGE, {"id": "no-such-case", "n": "请加快", "d": TODAY}, ours)) == ["NOT_FOUND"]
    assert stored()["version"] == version and "urges" not in stored()
    # a rating of an open case, out of range, or by someone else
    assert codes(suite.ask(RATE, {"id": case_id, "s": 5}, suite.token("resident", resident))) == ["CONFLICT"]
    # the 督办 in scope, answered by the handling committee's clerk, seen by the supervisor
    urged = suite.ask(URGE, {"id": case_id, "n": "请于今日内说明办理进度", "d": TODAY}, ours)["data"]["urgeCase"]
    urge = urged["urges"][-1]
    assert (urge["by"], urge["replyBy"], urge["answer"]) == ("supervisor-SD02", TODAY, None)
    assert codes(suite.ask(ANSWER, {"id": case_id, "u": urge["id"]}, ours)) == ["FORBIDDEN"]
    answered = suite.ask(ANSWER, {"id": case_id, "u": urge["id"]}, clerk_here)["data"]["answerUrge"]
    assert answered["urges"][-1] == {"answer": "已补齐材料，今日办结", "answeredBy": "staff-C0201"}
    assert codes(suite.ask(ANSWER, {"id": case_id, "u": urge["id"]}, clerk_here)) == ["CONFLICT"]
    # closed: no more 督办; rated by its resident only, 1 to 5, once
    rpc.community.act_on_case({"id": "clerk-fl", "role": "staff", "committee": "C0201"},
                              {"case_id": case_id, "action": "complete"})
    assert codes(suite.ask(URGE, {"id": case_id, "n": "请加快", "d": TODAY}, ours)) == ["CONFLICT"]
    me = suite.token("resident", resident)
    for score in (0, 6):
        assert codes(suite.ask(RATE, {"id": case_id, "s": score}, me)) == ["BAD_USER_INPUT"]
    assert codes(suite.ask(RATE, {"id": case_id, "s": 5}, suite.token("resident", "someone-else"))) == ["NOT_FOUND"]
    assert "rating" not in stored() and len(stored()["urges"]) == 1
    assert suite.ask(RATE, {"id": case_id, "s": 4}, me)["data"]["rateCase"]["rating"]["score"] == 4
    assert codes(suite.ask(RATE, {"id": case_id, "s": 1}, me)) == ["CONFLICT"]
    mine = suite.ask(READ, {"id": case_id}, me)["data"]["case"]
    assert mine["urges"] == [] and mine["rating"] == {"score": 4}
    # the resident can see who read and urged their case; the refused supervisor left no trace there
    log = suite.ask("{ me { accessLog { by purpose caseId committee { code } } } }", None, me)["data"]["me"]["accessLog"]
    assert {"by": "supervisor-SD02", "purpose": "action", "caseId": case_id, "committee": {"code": "SD02"}} in log
    assert {"by": "supervisor-district", "purpose": "case", "caseId": case_id, "committee": None} in log
    assert all(e["by"] != "supervisor-SD01" for e in log)
