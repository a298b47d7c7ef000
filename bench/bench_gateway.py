"""Gateway: the resident dashboard (`me` with cases, notices, card, loans, holds, enrolments,
credits, two children with assignments and wallets, message threads) through GraphQL, as
a multiple of one plain nameko RPC round trip measured in the same run (the echo service
on the same broker); and the throughput of 20 concurrent clients as a share of plain RPC
throughput with 20 clients. The household grows in three steps (loans, cases and the rest)
to show how the cost grows. Services and gateway are real processes.

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

from bench.common import machine, percentile
from bench.rpc_load import concurrent, echo_latencies, echo_throughput, latencies
from bench.suite_processes import profiled, running_suite
from gateway import auth
from infra.imports.roster import import_roster
from infra.local import demo_data
from services.community import calendar_source, catalogue

# the dashboard query and the household data are the integration test's own
TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path[:0] = [str(TESTS), str(TESTS / "integration")]
from school_data import register, write_roster  # noqa: E402
from support import id_number  # noqa: E402
from test_gateway_dashboard import DASHBOARD, fill, more_children  # noqa: E402

SECRET = "bench-gateway-secret-of-at-least-32-bytes"
CLIENTS = 20
# (loans, cases) added at each step: the household has 1/1, then 5/10, then 9/40
STEPS = [(1, 1), (4, 9), (4, 30)]


class SchoolIds:
    """What test_gateway_dashboard.more_children needs of the school fixture."""

    def __init__(self, ids: dict):
        self.ids = ids

    def __getattr__(self, name):
        try:
            return self.ids[name]
        except KeyError:
            raise AttributeError(name) from None


def make_school(rpc, folder: Path) -> tuple[SchoolIds, str]:
    """The integration tests' OneRoster school; returns it and guardian A (of pupil u1)."""
    tag = uuid.uuid4().hex[:8]
    names = ["district", "school", "term", "c1", "c2", "c3", "t1", "t2", "u1", "u2", "u3", "g1", "g2", "g3", "g4",
             "admin", *[f"e{n}" for n in range(1, 10)]]
    ids = {n: f"{n}-{tag}" for n in names}
    numbers, residents = {}, {}
    for key, name in [("A", "张伟"), ("B", "王芳"), ("C", "李强")]:
        numbers[key], residents[key] = register(rpc, name)
    numbers["unknown"] = id_number()
    write_roster(folder, ids, numbers, [id_number(birth="20160512")])
    with open(os.devnull, "w") as quiet:
        import_roster(rpc, folder, report=quiet)
    return SchoolIds(ids), residents["A"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="dashboard queries one after the other, per size")
    parser.add_argument("--per-client", type=int, default=10, help="queries per concurrent client, per size")
    args = parser.parse_args()
    counts = {"community": 1, "library": 1, "elearning": 1, "gateway": 1, "echo": 1}
    with running_suite("benchgw", counts, overrides={"gateway": {"JWT_SECRET": SECRET, "EXPOSE_RPC_COUNT": True}}) \
            as suite, tempfile.TemporaryDirectory() as tmp, \
            ClusterRpcProxy({"AMQP_URI": suite.amqp_uri}, timeout=60) as rpc:
        rpc.community.upsert_places(demo_data.PLACES)
        rpc.community.upsert_matters(catalogue.MATTERS)
        if 2026 not in rpc.community.calendar_years():
            rpc.community.load_calendar_year(calendar_source.to_json(calendar_source.from_package(2026)))
        rpc.library.upsert_locations(demo_data.LOCATIONS)
        school, guardian = make_school(rpc, Path(tmp))
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
            fill(rpc, guardian, children, loans=more_loans, cases=more_cases, tag=f"b{n}{uuid.uuid4().hex[:5]}")
            loans, cases = loans + more_loans, cases + more_cases
            with requests.Session() as session:
                answer = ask(session)
                me = answer["data"]["me"]
                cpu_before = suite.cpu()
                with profiled(suite, f"gateway-dashboard-{n}"):
                    dash = latencies(lambda: ask(session), args.repeat, warmup=0)
                cpu = {k: (v - cpu_before[k]) / args.repeat for k, v in suite.cpu().items() if k != "echo"}
            trip = statistics.median(echo_latencies(suite.amqp_uri, max(500, args.repeat)))
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
            print(f"  {CLIENTS} clients: dashboard {rate:6.1f} queries/s, plain RPC {raw:6.0f} calls/s "
                  f"= {rate / raw:6.1%} of raw RPC throughput", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
