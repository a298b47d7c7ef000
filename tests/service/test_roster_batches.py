"""A roster batch is stored with its reads made once and its writes sent together: it must end
exactly as the same records sent one at a time, each seeing what the records before it did."""
from __future__ import annotations

import json
import uuid

import pytest

from services.elearning.service import ElearningService


def story(p: str) -> list[dict]:
    """Records of one school in namespace ``p``, where later records depend on earlier ones of
    the same batch: a guardian who changes person, an enrollment that moves, deletions, and
    records that must be refused."""
    school, c1, c2, u1, t1, g1 = (f"{p}-{n}" for n in ("sch", "c1", "c2", "u1", "t1", "g1"))
    return [
        {"kind": "org", "sourced_id": school, "name": "实验小学", "type": "school"},
        {"kind": "class", "sourced_id": c1, "title": "三(1)班", "school_id": school},
        {"kind": "class", "sourced_id": c2, "title": "三(2)班", "school_id": school},
        {"kind": "class", "sourced_id": f"{p}-c3", "title": "无校", "school_id": f"{p}-nowhere"},   # refused
        {"kind": "student", "sourced_id": u1, "name": "张小明", "grade": "03", "school_ids": [school]},
        {"kind": "teacher", "sourced_id": t1, "name": "李老师", "school_ids": [school]},
        {"kind": "guardian", "sourced_id": g1, "resident_id": f"{p}-resA", "name": "张伟", "school_ids": [school]},
        {"kind": "link", "student_id": u1, "guardian_id": g1},
        {"kind": "link", "student_id": t1, "guardian_id": g1},                                      # refused
        {"kind": "enrollment", "sourced_id": f"{p}-e1", "class_id": c1, "user_id": u1, "role": "student"},
        {"kind": "enrollment", "sourced_id": f"{p}-e2", "class_id": c1, "user_id": t1, "role": "teacher"},
        {"kind": "enrollment", "sourced_id": f"{p}-e3", "class_id": c1, "user_id": u1, "role": "teacher"},  # refused
        {"kind": "guardian", "sourced_id": g1, "resident_id": f"{p}-resB", "name": "王芳", "school_ids": [school]},
        {"kind": "teacher", "sourced_id": u1, "name": "张小明", "school_ids": [school]},               # refused
        {"kind": "enrollment", "sourced_id": f"{p}-e1", "class_id": c2, "user_id": u1, "role": "student"},
        {"kind": "delete", "sourced_id": f"{p}-e2", "file": "enrollments"},
        {"kind": "enrollment", "sourced_id": f"{p}-e4", "class_id": c2, "user_id": t1, "role": "teacher"},
        {"kind": "delete", "sourced_id": t1, "file": "users"},
    ]


def stored(db, p: str) -> str:
    """What the store holds of namespace ``p``, with the namespace taken out."""
    store = db("elearning")
    docs = {c: sorted((d for d in store[c].find() if str(d["_id"]).startswith(p)), key=lambda d: d["_id"])
            for c in ("roster_orgs", "roster_classes", "roster_users", "roster_enrollments")}
    docs["wallet_guardians"] = sorted(({k: v for k, v in d.items() if k not in ("_id", "linked_at", "at")}
                                       for d in store.wallet_guardians.find() if d.get("student_id", "").startswith(p)),
                                      key=lambda d: json.dumps(d, sort_keys=True, default=str))
    return json.dumps(docs, sort_keys=True, default=str).replace(p, "P")


@pytest.fixture
def elearning(start_service, rpc):
    start_service(ElearningService)
    return rpc.elearning


def test_one_batch_ends_as_the_same_records_one_at_a_time(elearning, db):
    together, apart = f"rb{uuid.uuid4().hex[:6]}", f"ra{uuid.uuid4().hex[:6]}"
    result = elearning.roster_import(story(together))
    one_by_one = [elearning.roster_import([record]) for record in story(apart)]

    refused = [r["index"] for r in result["rejected"]]
    assert refused == [i for i, r in enumerate(one_by_one) if r["rejected"]] == [3, 8, 11, 13]
    assert [r["reason"] for r in result["rejected"]] == \
        [r["rejected"][0]["reason"].replace(apart, together) for r in one_by_one if r["rejected"]]
    assert result["imported"] == sum(r["imported"] for r in one_by_one) == len(story(together)) - 4
    assert stored(db, together) == stored(db, apart)

    users = {d["_id"]: d for d in db("elearning").roster_users.find({"_id": {"$regex": f"^{together}"}})}
    pupil = users[f"{together}-u1"]
    assert list(pupil["guardians"]) == [f"{together}-resB"]          # the guardian changed person
    assert list(pupil["classes"]) == [f"{together}-c2"]              # the enrollment moved
    assert not users[f"{together}-t1"]["active"]                     # deleted: kept, inactive
