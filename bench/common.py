"""What every benchmark needs: a store (the embedded one unless MONGO_URI), timing that
reports medians and ratios against a baseline measured in the same run."""
from __future__ import annotations

import os
import statistics
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pymongo

from infra import embedded_store


@contextmanager
def store():
    """(client, description): MONGO_URI when set, else an embedded store in a temp folder."""
    if os.environ.get("MONGO_URI"):
        client = pymongo.MongoClient(os.environ["MONGO_URI"])
        yield client, f"MongoDB at {os.environ['MONGO_URI']}"
        client.close()
        return
    with tempfile.TemporaryDirectory(prefix="suite-bench-") as tmp:
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = embedded_store.start(Path(tmp) / "data", port, Path(tmp) / "store.log")
        uri = f"mongodb://127.0.0.1:{port}/"
        embedded_store.wait_ready(uri, process=proc)
        client = pymongo.MongoClient(uri)
        try:
            yield client, "embedded store (nx-27017 on SQLite)"
        finally:
            client.close()
            embedded_store.stop(proc)


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def summary(name: str, samples: list[float], baseline: float | None = None) -> str:
    p50 = statistics.median(samples)
    p99 = sorted(samples)[max(0, int(len(samples) * 0.99) - 1)]
    ratio = f"  = {p50 / baseline:6.1f} x baseline" if baseline else ""
    return f"{name:<44} p50 {p50 * 1000:8.2f} ms   p99 {p99 * 1000:8.2f} ms{ratio}"
