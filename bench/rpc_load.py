"""Clients for the RPC and HTTP benchmarks: OS threads (no eventlet in the benchmark's own
process), each with its own ClusterRpcProxy (one shared by threads hung: docs/ARCHITECTURE.md,
"The stack"), and the plain RPC baseline (``echo``, bench/echo_service.py) they are compared with."""
from __future__ import annotations

import threading
import time
from contextlib import nullcontext
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from nameko.standalone.rpc import ClusterRpcProxy

from bench.common import MachineCpu, timed


def latencies(call: Callable[[], object], repeat: int, warmup: int = 20, cpu: MachineCpu | None = None
              ) -> list[float]:
    """Seconds per call, one after the other, after ``warmup`` calls; ``cpu`` measures the
    whole machine over the timed calls."""
    for _ in range(warmup):
        call()
    with cpu or nullcontext():
        return timed(call, repeat)


def echo_latencies(amqp_uri: str, repeat: int, cpu: MachineCpu | None = None) -> list[float]:
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30) as rpc:
        return latencies(lambda: rpc.echo.echo("ping"), repeat, cpu=cpu)


def concurrent(clients: int, make_client: Callable[[], object], work: Callable[[object, int, int], object],
               per_client: int) -> tuple[float, list]:
    """``clients`` threads, each with ``make_client()`` (a context manager), each doing
    ``work(client, thread number, i)`` ``per_client`` times once all are connected.
    Returns (calls a second, the answers)."""
    barrier = threading.Barrier(clients + 1, timeout=900)
    answers: list = []
    lock = threading.Lock()

    def run(n):
        try:
            with make_client() as client:
                work(client, n, -1)    # warm: connections and reply queues are made before timing
                barrier.wait()
                got = [work(client, n, i) for i in range(per_client)]
                barrier.wait()
        except BaseException:
            barrier.abort()   # the others stop waiting; the error surfaces below
            raise
        with lock:
            answers.extend(got)

    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(run, n) for n in range(clients)]
        try:
            barrier.wait()
            started = time.perf_counter()
            barrier.wait()
            took = time.perf_counter() - started
        finally:
            for f in futures:
                f.result()
    return clients * per_client / took, answers


def echo_throughput(amqp_uri: str, clients: int, per_client: int) -> float:
    rate, _ = concurrent(clients, lambda: ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=60),
                         lambda rpc, n, i: rpc.echo.echo("ping"), per_client)
    return rate
