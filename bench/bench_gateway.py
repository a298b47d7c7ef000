"""Gateway: the resident dashboard (`me` with cases, notices, card, loans, holds, enrolments,
credits, two children with assignments and wallets, message threads) through GraphQL, as
a multiple of one plain nameko RPC round trip measured in the same run (the echo service
on the same broker); and the throughput of 20 concurrent clients as a share of plain RPC
throughput with 20 clients. The household grows in three steps (loans, cases and the rest)
to show how the cost grows. Services and gateway are real processes. It also measures the CPU
the whole machine spends per query and per plain round trip: spread over every core, a
query's CPU is a floor under its latency.

    python -m bench.bench_gateway [--repeat 200] [--per-client 10]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

import requests
from nameko.standalone.rpc import ClusterRpcProxy

from bench.common import MachineCpu, machine, percentile
from bench.rpc_load import concurrent, echo_latencies, echo_throughput, latencies
from bench.suite_processes import profiled, running_suite
from gateway import auth
from infra.local import demo_data

# the dashboard query and the household data are the integration test's own
TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path[:0] = [str(TESTS), str(TESTS / "integration")]
from support.school_data import make_school  # noqa: E402
from support import load_demo_district  # noqa: E402
from test_gateway_dashboard import DASHBOARD, fill, more_children  # noqa: E402

SECRET = "bench-gateway-secret-of-at-least-32-bytes"
CLIENTS = 20
# (loans, cases) added at each step: the household has 1/1, then 5/10, then 9/40
STEPS = [(1, 1), (4, 9), (4, 30)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="dashboard queries one after the other, per size")
    parser.add_argument("--per-client", type=int, default=10, help="queries per concurrent client, per size")
    args = parser.parse_args()
    counts = {"community": 1, "library": 1, "elearning": 1, "gateway": 1, "echo": 1}
    with running_suite("benchgw", counts, overrides={"gateway": {"JWT_SECRET": SECRET, "EXPOSE_RPC_COUNT": True}}) \
            as suite, tempfile.TemporaryDirectory() as tmp, \
            ClusterRpcProxy({"AMQP_URI": suite.amqp_uri}, timeout=60) as rpc:
        load_demo_district(rpc)
        rpc.library.upsert_locations(demo_data.LOCATIONS)
        with open(os.devnull, "w") as quiet:
            school = make_school(rpc, Path(tmp), report=quiet)
        guardian = school.residents["A"]                              # of pupil u1
        children = [school.u1, *more_children(rpc, school, 1)]     # two children
        tokens = auth.TokenConfig(SECRET, suite.settings.jwt_issuer, suite.settings.jwt_audience)
        headers = {"Authorization": f"Bearer {auth.mint(tokens, 'guardian', guardian)}"}
        url = suite.url("gateway", "/graphql")

        def ask(session):
            answer = session.post(url, json={"query": DASHBOARD}, headers=headers, timeout=60).json()
            if "errors" in answer:
                raise RuntimeError(f"the dashboard answered with errors: {answer['errors'][:2]}")
            return answer

        print(f"\ngateway dashboard (guardian with two children), on {suite.where}; {machine()}")
        loans = cases = 0
        for n, (more_loans, more_cases) in enumerate(STEPS):
            fill(rpc, guardian, children, loans=more_loans, cases=more_cases, tag=f"b{n}{uuid.uuid4().hex[:5]}",
                 teacher=school.t1)
            loans, cases = loans + more_loans, cases + more_cases
            with requests.Session() as session:
                ask(session)            # warms the gateway's place names, as any earlier query would
                answer = ask(session)
                me = answer["data"]["me"]
                cpu_before = suite.cpu()
                with profiled(suite, f"gateway-dashboard-{n}"):
                    dash = latencies(lambda: ask(session), args.repeat, warmup=0, cpu=(dash_cpu := MachineCpu()))
                cpu = {k: (v - cpu_before[k]) / args.repeat for k, v in suite.cpu().items() if k != "echo"}
            trips = max(500, args.repeat)
            trip = statistics.median(echo_latencies(suite.amqp_uri, trips, cpu=(trip_cpu := MachineCpu())))
            rate, _ = concurrent(CLIENTS, requests.Session, lambda s, c, i: ask(s), args.per_client)
            raw = echo_throughput(suite.amqp_uri, CLIENTS, max(args.per_client, 25))
            p50, p99 = statistics.median(dash), percentile(dash, 0.99)
            print(f"household: {len(me['children'])} children, {len(me['loans'])} loans, {len(me['holds'])} holds, "
                  f"{len(me['cases'])} cases, {len(me['enrolments'])} enrolments, "
                  f"{len(me['messageThreads'])} threads; {answer['extensions']['rpcCalls']} RPCs per query")
            print(f"  plain RPC round trip p50 {trip * 1000:6.2f} ms; dashboard p50 {p50 * 1000:6.1f} ms "
                  f"= {p50 / trip:4.1f} round trips, p99 {p99 * 1000:6.1f} ms = {p99 / trip:4.1f} round trips "
                  f"(bar: p50 within 4: {'met' if p50 <= 4 * trip else 'missed'})")
            print("  CPU per dashboard query: " + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in sorted(cpu.items()))
                  + f" (all: {sum(cpu.values()) * 1000:.1f} ms)")
            # One query at a time: all the machine's CPU during it is spent on it (the suite is
            # otherwise idle), and it cannot be spent faster than on every core at once.
            query_cpu, trip_cpu_each = dash_cpu.busy / args.repeat, trip_cpu.busy / trips
            floor = query_cpu / (os.cpu_count() or 1)
            print(f"  whole machine CPU: {query_cpu * 1000:.1f} ms per dashboard query, {trip_cpu_each * 1000:.2f} ms "
                  f"per plain round trip ({query_cpu / trip_cpu_each:.0f} x); spread over all {os.cpu_count()} cores "
                  f"the query cannot take less than {floor * 1000:.1f} ms = {floor / trip:.1f} round trips")
            print(f"  {CLIENTS} clients: dashboard {rate:6.1f} queries/s, plain RPC {raw:6.0f} calls/s "
                  f"= {rate / raw:6.1%} of raw RPC throughput", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
