"""Wallet (一机通): concurrent charges per second from 20 school terminals, on one wallet
(every charge contends for the same document) and spread over many wallets, as a share of
plain nameko RPC throughput with the same 20 clients (the echo baseline, same run). Each
terminal also resends some transactions (they must be applied once). At the end the
ledger check: every wallet's balance equals the sum of its ledger, and every charge
answered ``charged`` is in the ledger exactly once.

    python -m bench.bench_wallet [--charges 400 1600] [--wallets 1 200]
"""
from __future__ import annotations

import argparse
import statistics
import uuid

import pymongo
from nameko.standalone.rpc import ClusterRpcProxy

from bench.common import machine
from bench.rpc_load import concurrent, echo_throughput
from bench.suite_processes import running_suite
from infra import school_terminals
from services.elearning import wallet_store

CLIENTS = 20
CHARGE_FEN = 10
RESEND_EVERY = 10     # every tenth charge of a terminal is sent a second time


def prepare(rpc, wallets: int, charges: int) -> tuple[str, list[str], dict[str, str]]:
    school = f"sch-{uuid.uuid4().hex[:8]}"
    keys = {f"{school}-t{n}": school_terminals.add_terminal(rpc, f"{school}-t{n}", school, "canteen")
            for n in range(CLIENTS)}
    teacher = f"{school}-office"   # the school's staff tops the wallets up (cash at the office)
    rpc.elearning.roster_import([{"kind": "org", "sourced_id": school, "name": "基准学校", "type": "school"},
                                 {"kind": "teacher", "sourced_id": teacher, "name": "财务老师", "school_ids": [school]}])
    students = [f"{school}-s{n}" for n in range(wallets)]
    need = charges * CHARGE_FEN // wallets + 10_000
    for s in students:
        guardian = uuid.uuid4().hex
        rpc.elearning.wallet_link_guardian(s, guardian, school)
        left = need
        while left > 0:   # one top-up is at most 1,000 yuan
            amount = min(left, 100_000)
            rpc.elearning.wallet_staff_top_up({"role": "teacher", "id": teacher}, s, amount, "基准测试充值",
                                              uuid.uuid4().hex)
            left -= amount
    return school, students, keys


def ledger_problems(db, students: list[str], answers: list[tuple[str, str, dict]]) -> list[str]:
    charged: dict[str, list[str]] = {}
    for student, txn, answer in answers:
        if answer["status"] != "charged":
            return [f"{txn}: {answer}"]
        if not answer["duplicate"]:
            charged.setdefault(student, []).append(txn)
    problems = []
    for s in students:   # read only: a checker that repaired first would hide what it checks
        seen = wallet_store.audit(db, s)
        if seen["ledger_sum"] != seen["balance"]:
            problems.append(f"{s}: balance {seen['balance']} != ledger sum {seen['ledger_sum']}")
        if sorted(seen["charges"]) != sorted(charged.get(s, [])) or any(n > 1 for n in seen["charges"].values()):
            problems.append(f"{s}: {sum(seen['charges'].values())} charges in the ledger, "
                            f"{len(charged.get(s, []))} answered")
    return problems


def run_once(suite, rpc, db, wallets: int, charges: int) -> dict:
    school, students, keys = prepare(rpc, wallets, charges)
    per_client = charges // CLIENTS

    def work(client, n, i):
        if i < 0:
            return client.elearning.wallet_for_students(students[:1])
        k = i - 1 if i % RESEND_EVERY == RESEND_EVERY - 1 else i     # a resend of the previous charge
        student = students[(n * per_client + k) % wallets]
        txn = f"t{n}-{k}"
        terminal = f"{school}-t{n}"
        return student, txn, client.elearning.wallet_charge(*school_terminals.signed_charge(
            terminal, keys[terminal], student, CHARGE_FEN, txn))

    rate, answers = concurrent(CLIENTS, lambda: ClusterRpcProxy({"AMQP_URI": suite.amqp_uri}, timeout=120), work,
                               per_client)
    return {"wallets": wallets, "charges": len(answers), "rate": rate,
            "problems": ledger_problems(db, students, answers),
            "applied": sum(not a["duplicate"] for _, _, a in answers)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charges", type=int, nargs="+", default=[400, 1600])
    parser.add_argument("--wallets", type=int, nargs="+", default=[1, 200])
    args = parser.parse_args()
    failed = False
    with running_suite("benchwallet", {"elearning": 1, "echo": 1}) as suite:
        db = pymongo.MongoClient(suite.mongo_uri)[suite.settings.database_name("elearning")]
        print(f"\nwallet charges from {CLIENTS} terminals at once, one elearning process, on {suite.where}; "
              f"{machine()}")
        with ClusterRpcProxy({"AMQP_URI": suite.amqp_uri}, timeout=120) as rpc:
            for charges in args.charges:
                base = [echo_throughput(suite.amqp_uri, CLIENTS, charges // CLIENTS) for _ in range(2)]
                baseline = statistics.median(base)
                print(f"baseline: plain RPC, {CLIENTS} clients        {baseline:8,.0f} calls/s")
                for wallets in args.wallets:
                    row = run_once(suite, rpc, db, wallets, charges)
                    ok = not row["problems"]
                    failed |= not ok
                    print(f"{row['charges']:>6,} charges ({row['applied']:,} distinct) on {wallets:>4} wallet(s): "
                          f"{row['rate']:7,.0f} charges/s = {row['rate'] / baseline:6.1%} of plain RPC; "
                          f"ledger check {'OK' if ok else 'FAILED'}", flush=True)
                    for p in row["problems"][:10]:
                        print("    " + p)
        db.client.close()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
