"""What a guardian should hear about their child reaches their notice inbox in community:
a low wallet balance, a refused payment, a teacher's message — once each, to each guardian."""
from datetime import datetime, timezone

import eventlet

from school_data import school  # noqa: F401 - the fixture
from support import wait_for


def notices_of(rpc, resident_id):
    return rpc.community.get_notices({"id": resident_id, "role": "resident"}, resident_id)


def test_wallet_and_teacher_facts_become_guardian_notices(school, rpc):
    zhang = school.residents["A"]
    rpc.elearning.wallet_register_terminal("canteen-1", school.school, "canteen")
    rpc.elearning.wallet_top_up(zhang, school.u1, 2500, "pay-notice-1")
    now = datetime.now(timezone.utc).isoformat()
    rpc.elearning.wallet_charge("canteen-1", "txn-1", school.u1, 1000, now)       # 15.00 left: below 20.00
    rpc.elearning.wallet_freeze(zhang, school.u1)
    rpc.elearning.wallet_charge("canteen-1", "txn-2", school.u1, 500, now)        # refused: frozen
    rpc.elearning.post_message({"role": "teacher", "id": school.t1}, "小明今天表现很好。", student_id=school.u1)

    wanted = {"wallet_low_balance", "wallet_limit_refused", "teacher_message"}
    got = wait_for(lambda: (lambda n: n if wanted <= {x["kind"] for x in n} else None)(notices_of(rpc, zhang)))
    low = next(n for n in got if n["kind"] == "wallet_low_balance")
    assert "15.00" in low["body"] and "张伟" in low["body"]
    refused = next(n for n in got if n["kind"] == "wallet_limit_refused")
    assert "钱包已冻结" in refused["body"]
    eventlet.sleep(0.5)
    assert sorted(n["kind"] for n in notices_of(rpc, zhang)) == sorted(wanted)   # once each
    assert notices_of(rpc, school.residents["stranger"]) == []
