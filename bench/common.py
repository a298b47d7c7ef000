"""What every benchmark needs: a store (the embedded one unless MONGO_URI), a broker vhost
of its own (on AMQP_URI's broker), timing that reports medians and ratios against a
baseline measured in the same run, and the machine's load to print with the figures."""
from __future__ import annotations

import os
import socket
import statistics
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

import pymongo

from infra import embedded_store, rabbitmq_admin

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def store_uri():
    """(uri, description, pid of the embedded store or None): MONGO_URI as given (credentials
    and options kept) when set, else an embedded store in a temp folder, stopped at the end."""
    if os.environ.get("MONGO_URI"):
        uri = os.environ["MONGO_URI"]
        yield uri, f"{server_kind(uri)} at {urlparse(uri).hostname}", None   # never print the credentials
        return
    with tempfile.TemporaryDirectory(prefix="suite-bench-") as tmp:
        port = free_port()
        proc = embedded_store.start(Path(tmp) / "data", port, Path(tmp) / "store.log")
        uri = f"mongodb://127.0.0.1:{port}/"
        try:
            embedded_store.wait_ready(uri, process=proc)
            yield uri, "embedded store (nx-27017 on SQLite)", proc.pid
        finally:
            embedded_store.stop(proc)


def server_kind(uri: str) -> str:
    """What answers at ``uri``, as its buildInfo tells: MongoDB builds carry the commit they
    were built from; a wire-compatible server (the embedded one) may claim a version only."""
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        info = client.admin.command("buildInfo")
    finally:
        client.close()
    if info.get("gitVersion"):
        return f"MongoDB {info.get('version')}"
    return f"a MongoDB-compatible server (says version {info.get('version')}, no build commit)"


@contextmanager
def store():
    """(client, description): MONGO_URI when set, else an embedded store in a temp folder."""
    with store_uri() as (uri, where, _):
        client = pymongo.MongoClient(uri)
        try:
            yield client, where
        finally:
            client.close()


@contextmanager
def vhost(prefix: str):
    """An AMQP URI on AMQP_URI's broker with a virtual host of its own (made through the
    management API for AMQP_URI's user, deleted at the end with everything in it)."""
    base = urlparse(os.environ.get("AMQP_URI", "").strip() or DEFAULT_AMQP_URI)
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    rabbitmq_admin.create_vhost(name, user=unquote(base.username or "guest"))
    try:
        yield base._replace(path="/" + name).geturl()   # AMQP_URI's own vhost, if any, is not used
    finally:
        rabbitmq_admin.delete_vhost(name)


def drop_databases(uri: str, prefix: str) -> None:
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        for name in client.list_database_names():
            if name.startswith(prefix):
                client.drop_database(name)
    finally:
        client.close()


def machine() -> str:
    """What the figures ran on, with the load average at the time (the machine is shared)."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, load average {load}"


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """Resident set size of a process from /proc (``VmHWM``: its peak so far)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class MachineCpu:
    """CPU the whole machine used over a block (every process: broker, store, services,
    clients), from /proc/stat: ``busy`` seconds of CPU, ``wall`` seconds, and ``share`` of all
    cores kept busy. A rate bound by CPU can only rise as much as the CPU per item falls."""

    def __enter__(self):
        self._busy0, self._t0 = _machine_busy(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.busy = _machine_busy() - self._busy0
        self.wall = time.perf_counter() - self._t0
        self.share = self.busy / (self.wall * (os.cpu_count() or 1)) if self.wall else 0.0
        return False


def broker_pid() -> int | None:
    """The local RabbitMQ's Erlang VM, when the broker runs on this machine (else None)."""
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "beam.smp":
                return int(comm.parent.name)
        except OSError:   # gone meanwhile
            continue
    return None


def _machine_busy() -> float:
    """CPU seconds all cores spent working since boot (user, nice, system, irq, softirq; not
    idle, not waiting for I/O, not stolen by the hypervisor)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = (fields + [0] * 7)[:7]
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered))) - 1))]


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
