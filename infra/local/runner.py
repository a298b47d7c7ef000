"""The local runner behind ``suite up|down|status``: one machine, no containers.

Order matters: broker, store, topology and indexes (so no event is dropped for want of
a queue), then the services, then the gateway, then the demo data.
"""
from __future__ import annotations

import os
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module
from pathlib import Path

import requests
import yaml

from infra import district_links, embedded_store, topology
from infra.local import broker, processes
from services.common import config, storage

STORE = "store"
START_TIMEOUT = 90.0


def health_url(settings: config.Settings, name: str) -> str:
    port = settings.gateway_port if name == "gateway" else settings.health_ports[name]
    return f"http://{settings.gateway_host}:{port}/health"


def healthy(url: str | None) -> bool:
    if url is None:
        return True
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def ensure_store(settings: config.Settings, say=print) -> None:
    uri = settings.effective_mongo_uri
    if settings.mongo_uri:
        embedded_store.wait_ready(uri, timeout=10)
        return
    rec = processes.find(settings.var_dir, STORE)
    if rec is not None and processes.alive(rec):
        say(f"the embedded document store is already running (pid {rec.pid})")
    else:
        var = Path(settings.var_dir)
        say(f"starting the embedded document store on 127.0.0.1:{settings.embedded_mongo_port} "
            f"(data in {var / 'mongo'})")
        _require_free_port(settings.gateway_host, settings.embedded_mongo_port, "EMBEDDED_MONGO_PORT")
        # its own log file would repeat what it prints, which the runner keeps in log/store.log
        cmd = embedded_store.command(var / "mongo", settings.embedded_mongo_port, Path(os.devnull))
        processes.spawn(settings.var_dir, STORE, cmd, marker=str(var / "mongo"), health_url=None)
    embedded_store.wait_ready(uri, timeout=30)


def deploy(settings: config.Settings) -> list[str]:
    """Declare the broker topology (with the links to other districts: a queue and a shovel
    each) and every service's indexes."""
    queues = topology.declare(settings.amqp_uri, linked=settings.linked_districts)
    if settings.linked_districts:
        district_links.apply(settings.amqp_uri, settings.district_code, settings.linked_districts)
    client = storage.client_for(settings.effective_mongo_uri, settings.store_timeout_ms)
    for service in topology.SERVICE_CLASSES:
        indexes = import_module(f"services.{service}.store").INDEXES
        storage.ensure_indexes(client[settings.database_name(service)], indexes)
    return queues


def _start_service(settings: config.Settings, name: str, cls_path: str) -> None:
    cfg = config.gateway_config(settings) if name == "gateway" else config.nameko_config(settings, name)
    start_process(settings, name, cls_path, cfg)


def start_process(settings: config.Settings, label: str, cls_path: str, cfg: dict,
                  has_health: bool = True) -> processes.Recorded:
    """One ``nameko run`` process of ``cls_path`` with config ``cfg``, recorded as ``label``
    (its health endpoint on the config's web address)."""
    cfg_path = processes.run_dir(settings.var_dir) / f"{label}.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    cfg_path.chmod(0o600)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONWARNINGS": "ignore::DeprecationWarning",
           "SUITE_VAR_DIR": settings.var_dir}
    cmd = [sys.executable, "-m", "infra.local.nameko_run", "run", "--config", str(cfg_path), cls_path]
    health = f"http://{cfg['WEB_SERVER_ADDRESS']}/health" if has_health else None
    return processes.spawn(settings.var_dir, label, cmd, marker=str(cfg_path), health_url=health, env=env)


def _require_free_port(host: str, port: int, variable: str) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            raise SystemExit(f"port {port} on {host} is taken by another program: stop it, or set {variable} "
                             "to a free port") from None


def up(settings: config.Settings, say=print) -> None:
    broker.ensure_running(settings.amqp_uri, say=say)
    if settings.linked_districts:   # the links' shovels are declared through the management API
        broker.ensure_management(say=say)
    ensure_store(settings, say=say)
    queues = deploy(settings)
    if settings.linked_districts:
        say(f"linked districts: {', '.join(sorted(settings.linked_districts))} (a queue and a shovel each)")
    say(f"declared the broker topology ({len(queues)} queues) and the database indexes")
    from infra import broker_definitions
    if broker_definitions.apply_policies(settings.amqp_uri, settings.queue_type):
        say("broker policies set: event queues refuse beyond "
            f"{broker_definitions.EVENT_QUEUE_MAX_LENGTH:,} messages, request queues beyond "
            f"{broker_definitions.RPC_QUEUE_MAX_LENGTH:,} (senders keep what is refused and retry)")
    else:
        say("broker policies not set (the management API does not answer: `suite broker --management`);"
            " queues have no length limit")
    wanted = {**topology.SERVICE_CLASSES, "gateway": topology.GATEWAY_CLASS}
    to_start = []
    for name in wanted:
        rec = processes.find(settings.var_dir, name)
        if rec is not None and processes.alive(rec):
            say(f"{name} is already running (pid {rec.pid})")
        else:
            port = settings.gateway_port if name == "gateway" else settings.health_ports[name]
            _require_free_port(settings.gateway_host, port, "GATEWAY_PORT" if name == "gateway"
                               else f"{name.upper()}_PORT")
            to_start.append(name)
    for name in to_start:
        say(f"starting {name}")
        _start_service(settings, name, wanted[name])
    wait_healthy(settings, list(wanted))


def wait_healthy(settings: config.Settings, names: list[str], timeout: float = START_TIMEOUT) -> None:
    """Until every recorded process ``names`` answers its health check."""
    deadline = time.monotonic() + timeout
    pending = list(names)
    missed = {name: 0 for name in names}
    while pending:
        for name in list(pending):
            rec = processes.find(settings.var_dir, name)
            # Seen gone three times running (a process just forked shows its parent's command
            # line until it has exec'd, so one look can miss it on a busy machine).
            missed[name] = 0 if rec is not None and processes.alive(rec) else missed[name] + 1
            if missed[name] >= 3:
                log = Path(settings.var_dir) / "log" / f"{name}.log"
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise SystemExit(f"{name} exited during start-up: see {log}\n{tail}")
            if missed[name]:
                continue
            if healthy(rec.health_url):
                pending.remove(name)
        if pending and time.monotonic() > deadline:
            raise SystemExit(f"not healthy within {timeout:.0f}s: {', '.join(pending)} "
                             f"(logs in {Path(settings.var_dir) / 'log'})")
        time.sleep(0.3)


def down(settings: config.Settings, say=print) -> None:
    order = ["gateway", *topology.SERVICE_CLASSES, STORE]
    recs = sorted(processes.recorded(settings.var_dir),
                  key=lambda r: order.index(r.name) if r.name in order else -1)
    if not recs:
        say("nothing of ours is running")
    # the gateway and services stop together (each takes a couple of seconds), the store last
    front = [r for r in recs if r.name != STORE]
    with ThreadPoolExecutor(max(1, len(front))) as pool:
        for rec, outcome in zip(front, pool.map(lambda r: processes.stop(settings.var_dir, r), front)):
            say(f"{rec.name} (pid {rec.pid}): {outcome}")
    for rec in recs:
        if rec.name == STORE:
            say(f"{rec.name} (pid {rec.pid}): {processes.stop(settings.var_dir, rec)}")


def _store_answers(uri: str) -> bool:
    try:
        embedded_store.wait_ready(uri, timeout=2)
        return True
    except SystemExit:
        return False


def status(settings: config.Settings) -> list[tuple[str, str, str, str]]:
    """(name, pid, process state, health) of everything the runner started."""
    rows = []
    for rec in processes.recorded(settings.var_dir):
        running = processes.alive(rec)
        if not running:
            health = "-"
        elif rec.name == STORE:   # no HTTP of its own: it answers a ping
            health = "healthy" if _store_answers(settings.effective_mongo_uri) else "unhealthy"
        elif rec.health_url is None:
            health = "-"
        else:
            health = "healthy" if healthy(rec.health_url) else "unhealthy"
        rows.append((rec.name, str(rec.pid), "running" if running else "exited", health))
    return rows
