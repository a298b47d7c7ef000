"""The suite as real processes for a benchmark: each service a `nameko run` process, as the
local runner starts it (infra/local), but on free ports, a var folder, a vhost and
database names of the benchmark's own, and as many processes of one service as asked
(competing consumers). Everything is stopped and removed at the end.

    with running_suite("benchkiosk", {"community": 1, "library": 2}) as suite:
        suite.rpc_config, suite.pids("library"), suite.rss()
"""
from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from bench.common import cpu_seconds, drop_databases, free_port, rss_mib, store_uri, vhost
from infra import topology
from infra.local import processes, runner
from services.common import config

CLASSES = {**topology.SERVICE_CLASSES, "gateway": topology.GATEWAY_CLASS, "echo": "bench.echo_service:EchoService"}


@dataclasses.dataclass
class Suite:
    settings: config.Settings
    where: str                                   # which store, for the printout
    started: dict[str, list[processes.Recorded]]
    ports: dict[str, list[int]]
    store_pid: int | None = None                 # the embedded store's process (None: MONGO_URI)
    stopped: dict[str, int] = dataclasses.field(default_factory=dict)   # service -> processes stopped

    @property
    def amqp_uri(self) -> str:
        return self.settings.amqp_uri

    @property
    def mongo_uri(self) -> str:
        return self.settings.effective_mongo_uri

    def pids(self, name: str) -> list[int]:
        return [r.pid for r in self.started.get(name, [])]

    def url(self, name: str, path: str = "") -> str:
        return f"http://127.0.0.1:{self.ports[name][0]}{path}"

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far, per process (named as in ``rss``; ``store`` when embedded)."""
        out = {name: cpu_seconds(pid) for name, pid in self._named_pids()}
        if self.store_pid:
            out["store"] = cpu_seconds(self.store_pid)
        return out

    def _named_pids(self):
        for name, recs in list(self.started.items()):   # a copy: a sampler thread reads while one is restarted
            for i, rec in enumerate(recs, 1):
                yield (name if len(recs) == 1 else f"{name}-{i}"), rec.pid

    def stop(self, name: str) -> None:
        """Stop every process of service ``name`` (its queues keep what arrives meanwhile)."""
        recs = self.started.pop(name, [])
        self.ports.pop(name, None)
        for rec in recs:
            processes.stop(self.settings.var_dir, rec)
        self.stopped[name] = len(recs)

    def start_again(self, name: str, overrides: dict | None = None) -> None:
        """Start as many processes of ``name`` as were stopped; return when they are healthy."""
        for i in range(self.stopped.pop(name)):
            rec, port = _spawn(self.settings, name, i + 1, overrides or {})
            self.started.setdefault(name, []).append(rec)
            self.ports.setdefault(name, []).append(port)
        runner.wait_healthy(self.settings, [r.name for r in self.started[name]])

    def rss(self) -> dict[str, float]:
        """MiB resident, per process (``library-2`` for the second library process; ``store``
        when embedded)."""
        out = {}
        for name, pid in self._named_pids():
            try:
                out[name] = rss_mib(pid)
            except FileNotFoundError:   # stopped between the look and the read
                pass
        if self.store_pid:
            out["store"] = rss_mib(self.store_pid)
        return out


@contextmanager
def profiled(suite: Suite, label: str):
    """With BENCH_PROFILE=<folder> set, py-spy samples every process of the suite while the
    block runs (collapsed stacks, ``<folder>/<label>-<process>.txt``); otherwise nothing."""
    folder = os.environ.get("BENCH_PROFILE")
    if not folder:
        yield
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    spy = str(Path(sys.executable).parent / "py-spy")
    samplers = [subprocess.Popen([spy, "record", "--pid", str(rec.pid), "--format", "raw", "--rate", "250",
                                  "-o", f"{folder}/{label}-{rec.name}.txt"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
                for recs in suite.started.values() for rec in recs]
    try:
        yield
    finally:
        for proc in samplers:
            proc.send_signal(signal.SIGINT)   # py-spy writes its file on SIGINT
        for proc in samplers:
            proc.wait(timeout=60)


def wait_quiet(suite: Suite, timeout: float = 1800.0, hold: float = 2.0) -> float:
    """Until no service's outbox holds an event and every event queue of the suite (dead
    letters aside) has stayed empty for ``hold`` seconds (what one step set going is done
    before the next is timed); seconds until that was found for good."""
    import pymongo
    from kombu import Connection

    from services.common.outbox import PENDING

    outboxes = [(service, name) for service, path in topology.SERVICE_CLASSES.items()
                for name in topology.load_class(path).relay.collection_names]
    started = time.monotonic()
    quiet_since = None
    with Connection(suite.amqp_uri, connect_timeout=5) as conn, pymongo.MongoClient(suite.mongo_uri) as client:
        channel = conn.channel()
        while quiet_since is None or time.monotonic() - quiet_since < hold:
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"the suite was still busy after {timeout:.0f} s")
            busy = sum(q(channel).queue_declare(passive=True).message_count
                       for s in topology.subscriptions() for q in s.queues) \
                or any(client[suite.settings.database_name(service)][name].find_one({PENDING: {"$gt": 0}}, {"_id": 1})
                       for service, name in outboxes)
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            time.sleep(0.2)
    return quiet_since - started


def _spawn(settings: config.Settings, name: str, index: int, overrides: dict) -> tuple[processes.Recorded, int]:
    port = free_port()
    cfg = config.nameko_config(settings, name, web_port=port)
    if name == "gateway":
        cfg.update({"JWT_ISSUER": settings.jwt_issuer, "JWT_AUDIENCE": settings.jwt_audience})
    if "SIP2_PORT" in cfg:
        cfg["SIP2_PORT"] = 0   # several library processes: no SIP2 listener to fight over
    cfg.update(overrides)
    return runner.start_process(settings, f"{name}-{index}", CLASSES[name], cfg, has_health=name != "echo"), port


@contextmanager
def running_suite(tag: str, counts: dict[str, int], overrides: dict[str, dict] | None = None,
                  log_level: str = "INFO"):
    """Start ``counts`` processes of each service (``echo``: the plain RPC baseline) on a
    fresh vhost and database prefix; yield the Suite; stop and clean everything."""
    overrides = overrides or {}
    with store_uri() as (mongo, where, store_pid), vhost(tag) as amqp, tempfile.TemporaryDirectory(prefix=f"{tag}-") as var:
        prefix = f"{tag}{os.getpid()}"
        settings = dataclasses.replace(config.load(), amqp_uri=amqp, mongo_uri=mongo, db_prefix=prefix,
                                       var_dir=var, log_level=log_level)
        runner.deploy(settings)   # topology and indexes first: no event dropped for want of a queue
        suite = Suite(settings, where, {}, {}, store_pid)
        try:
            for name, count in counts.items():
                for i in range(count):
                    rec, port = _spawn(settings, name, i + 1, overrides.get(name, {}))
                    suite.started.setdefault(name, []).append(rec)
                    suite.ports.setdefault(name, []).append(port)
            runner.wait_healthy(settings, [r.name for recs in suite.started.values() for r in recs])
            if "echo" in counts:
                time.sleep(1.0)   # no health endpoint: give its RPC consumer a moment
            yield suite
        finally:
            recs = [r for rs in suite.started.values() for r in rs]
            with ThreadPoolExecutor(max(1, len(recs))) as pool:   # each takes a couple of seconds
                list(pool.map(lambda r: processes.stop(var, r), recs))
            drop_databases(mongo, prefix + "_")
