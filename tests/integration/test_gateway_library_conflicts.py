"""Library conflicts through GraphQL for librarians, with the real services: every conflict of
a filter reached page by page with the cursor, one opened with its two sides, a resolution
audited with the librarian's login; bad input answered with the gateway's codes and changing
nothing; clerks, residents and the anonymous refused."""
import uuid
from datetime import timedelta

from test_gateway_graphql import codes, gateway  # noqa: F401 (fixtures)

from services.common import clock, outbox
from services.library import actions

PAGE = """query($after: String, $kind: LibraryConflictKind, $loc: String, $since: String, $until: String,
                $status: LibraryConflictStatus) {
  libraryConflicts(first: 40, after: $after, kind: $kind, location: $loc, since: $since, until: $until,
                   status: $status) {
    nextCursor conflicts { id status kind barcode source location at reason event { id time cardMasked } } } }"""
RESOLVE = """mutation($id: ID!, $action: LibraryConflictAction!, $note: String!) {
  resolveLibraryConflict(conflictId: $id, action: $action, note: $note) {
    conflict { id status resolution resolvedBy trail { by action note at } } } }"""


def seed(rpc, db, n):
    kiosk = "K" + uuid.uuid4().hex[:8]
    rpc.library.upsert_locations([{"code": kiosk, "kind": "kiosk", "name": "测试自助图书馆", "committee": "C0101"}])
    start = clock.now() - timedelta(days=3)
    ids = []
    for i in range(n):
        at = start + timedelta(hours=i)
        kind = ("unresolved", "stale_checkout")[i % 2]
        event = {"id": f"e{i}", "type": "cn.library.kiosk.checkout.v1", "time": at.isoformat(),
                 "data": {"barcode": f"B{kiosk}{i}", "card_number": "LC000000054321"}}
        actions.record_conflict(db("library"), where=kiosk, barcode=f"B{kiosk}{i}",
                                reason="unknown card LC000000054321", event=event, at=at, kind=kind,
                                conflict_id=f"kiosk:{kiosk}:e{i}")
        ids.append((f"kiosk:{kiosk}:e{i}", kind, at))
    return kiosk, ids


def pages(gateway, token, **variables):  # noqa: F811
    seen, after, count = [], None, 0
    while True:
        answer = gateway(PAGE, token, {**variables, "after": after})
        assert "errors" not in answer, answer
        page = answer["data"]["libraryConflicts"]
        seen += page["conflicts"]
        count += 1
        if not page["nextCursor"]:
            return seen, count
        after = page["nextCursor"]


def test_a_librarian_pages_filters_opens_and_resolves(gateway, rpc, db):  # noqa: F811
    kiosk, seeded = seed(rpc, db, 70)
    librarian = gateway.token("librarian", "lib-zhang")
    every, count = pages(gateway, librarian, loc=kiosk)
    assert [c["id"] for c in every] == [cid for cid, _, _ in seeded] and count == 2
    assert {c["event"]["cardMasked"] for c in every} == {"LC********4321"} and "LC000000054321" not in str(every)
    day = clock.local(seeded[30][2]).date()
    stale, _ = pages(gateway, librarian, loc=kiosk, kind="STALE_CHECKOUT", since=str(day), until=str(day))
    assert [c["id"] for c in stale] == [cid for cid, kind, at in seeded
                                        if kind == "stale_checkout" and clock.local(at).date() == day]
    assert stale and all(c["kind"] == "STALE_CHECKOUT" and c["status"] == "OPEN" for c in stale)

    target = seeded[0][0]
    opened = gateway("query($id: ID!) { libraryConflict(id: $id) { conflict { id reason } loans { relation } } }",
                     librarian, {"id": target})["data"]["libraryConflict"]
    assert opened["conflict"]["reason"] == "unknown card LC********4321" and opened["loans"] == []
    done = gateway(RESOLVE, librarian, {"id": target, "action": "VOID", "note": "卡号无效，记录作废"})
    done = done["data"]["resolveLibraryConflict"]["conflict"]
    assert (done["status"], done["resolvedBy"], done["resolution"]) == ("RESOLVED", "lib-zhang", "卡号无效，记录作废")
    assert [(e["by"], e["action"], e["note"]) for e in done["trail"]] == [("lib-zhang", "VOID", "卡号无效，记录作废")]
    assert target not in [c["id"] for c in pages(gateway, librarian, loc=kiosk)[0]]
    assert [c["id"] for c in pages(gateway, librarian, loc=kiosk, status="RESOLVED")[0]] == [target]


def test_bad_input_and_the_wrong_people_change_nothing(gateway, rpc, db):  # noqa: F811
    kiosk, seeded = seed(rpc, db, 2)
    target = seeded[1][0]

    def stored():
        doc = db("library").conflicts.find_one({"_id": target})
        return {k: v for k, v in doc.items() if k not in outbox.FIELDS}
    before = stored()
    librarian = gateway.token("librarian", "lib-zhang")
    assert codes(gateway(PAGE, librarian, {"loc": "NOWHERE"})) == ["NOT_FOUND"]
    assert codes(gateway(PAGE, librarian, {"since": "2026-02-30"})) == ["BAD_USER_INPUT"]
    assert codes(gateway(PAGE, librarian, {"since": "2026-12-02", "until": "2026-12-01"})) == ["BAD_USER_INPUT"]
    assert codes(gateway(PAGE, librarian, {"kind": "LOST"})) == ["BAD_USER_INPUT"]
    assert codes(gateway(PAGE, librarian, {"after": "resolved|x", "loc": kiosk})) == ["BAD_USER_INPUT"]
    assert codes(gateway(RESOLVE, librarian, {"id": "kiosk:none:none", "action": "VOID", "note": "x"})) == ["NOT_FOUND"]
    assert codes(gateway(RESOLVE, librarian, {"id": target, "action": "VOID", "note": " "})) == ["BAD_USER_INPUT"]
    assert codes(gateway(RESOLVE, librarian, {"id": target, "action": "FORGIVE", "note": "x"})) == ["BAD_USER_INPUT"]
    for role, subject, committee in (("staff", "clerk-fl", "C0201"), ("resident", uuid.uuid4().hex, None),
                                     ("guardian", uuid.uuid4().hex, None)):
        token = gateway.token(role, subject, committee)
        assert codes(gateway(RESOLVE, token, {"id": target, "action": "VOID", "note": "x"})) == ["FORBIDDEN"]
        refused = gateway(PAGE, token, {"loc": kiosk})
        assert codes(refused) == ["FORBIDDEN"] and refused["data"]["libraryConflicts"] is None
    assert codes(gateway(RESOLVE, None, {"id": target, "action": "VOID", "note": "x"})) == ["UNAUTHENTICATED"]
    assert stored() == before

    assert "errors" not in gateway(RESOLVE, librarian, {"id": target, "action": "CONFIRMED", "note": "已核实"})
    settled = stored()
    twice = gateway(RESOLVE, gateway.token("librarian", "lib-li"), {"id": target, "action": "VOID", "note": "再次"})
    assert codes(twice) == ["CONFLICT"] and "resolved already" in twice["errors"][0]["message"]
    assert stored() == settled and settled["resolved"]["by"] == "lib-zhang"


def test_a_librarian_reads_each_kiosks_health(gateway, rpc, db):  # noqa: F811
    from services.library import kiosks_store
    kiosk, seeded = seed(rpc, db, 3)
    kiosks_store.seen(db("library"), kiosk, clock.now(), 60)
    query = "{ libraryKiosks { kioskId status lastSeen openConflicts openFaults { code } } }"
    found = gateway(query, gateway.token("librarian", "lib-zhang"))["data"]["libraryKiosks"]
    [ours] = [k for k in found if k["kioskId"] == kiosk]
    assert (ours["status"], ours["openConflicts"], ours["openFaults"]) == ("online", 3, [])
    assert codes(gateway(query, gateway.token("staff", "clerk-fl", "C0201"))) == ["FORBIDDEN"]
