"""The whole suite as `suite up` runs it — the embedded store and each service as a
separate process with a recorded pid — on free ports, in a vhost, var folder and database
prefix of the test run's own, so that a test can kill -9 any part and start it again.

Everything reaches the broker through a TCP proxy of the run's own: ``broker_away()`` is the
broker gone for a while, as far as this run can tell, without stopping the shared node
(which every other vhost and test run on this machine uses).

The runner's own code starts and restarts everything (``runner.up`` starts whatever is not
running: a killed service, or the store on its data folder and port)."""
from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import requests
from nameko.standalone.rpc import ClusterRpcProxy

from support import RUN_ID, free_port
from support.tcp_proxy import TcpProxy
from gateway import auth
from infra import rabbitmq_admin
from infra.local import demo_data, processes, runner
from services.common import config
from services.community import catalogue

SERVICES = ("community", "library", "elearning")


class RunningSuite:
    def __init__(self, root: Path, base_amqp_uri: str, rpc_timeout: float = 3.0):
        self.vhost = f"suite-rel-{RUN_ID}"
        host, port = base_amqp_uri.split("@", 1)[1].split("/", 1)[0].split(":")
        self.proxy = TcpProxy(host, int(port))
        self.settings = dataclasses.replace(
            config.load(), amqp_uri=self.proxy.uri(base_amqp_uri.rstrip("/") + "/" + self.vhost), mongo_uri="",
            embedded_mongo_port=free_port(), db_prefix=f"t{RUN_ID}rel", var_dir=str(root / "var"),
            gateway_host="127.0.0.1", gateway_port=free_port(), health_ports={s: free_port() for s in SERVICES},
            rpc_timeout=rpc_timeout, outbox_interval=0.1, log_format="json", jwt_secret="")
        self.sip2_port = "0"   # off: other tests' library services may want 6001
        self.restarts: dict[str, list[float]] = {}

    # ---- life ------------------------------------------------------------------------------

    @contextmanager
    def _runner_env(self):
        # the runner reads SIP2_PORT from the environment when it writes a library's config
        before = os.environ.get("SIP2_PORT")
        os.environ["SIP2_PORT"] = self.sip2_port
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("SIP2_PORT", None)
            else:
                os.environ["SIP2_PORT"] = before

    def up(self) -> float:
        """Start whatever is not running and wait until all of it is healthy; seconds taken."""
        started = time.monotonic()
        with self._runner_env():
            runner.up(self.settings, say=lambda _msg: None)
        return time.monotonic() - started

    def start(self) -> None:
        rabbitmq_admin.create_vhost(self.vhost)
        self.up()
        with self.rpc() as rpc:
            rpc.community.upsert_places(demo_data.PLACES)
            rpc.community.upsert_matters(catalogue.MATTERS)
            rpc.library.upsert_locations(demo_data.LOCATIONS)

    def down(self) -> None:
        self.proxy.restore()
        runner.down(self.settings, say=lambda _msg: None)
        rabbitmq_admin.delete_vhost(self.vhost)
        self.proxy.close()

    def broker_away(self, seconds: float) -> None:
        """The broker gone for ``seconds``, for this run alone: every connection through the
        proxy drops and new ones are refused, then it answers again."""
        self.proxy.cut()
        time.sleep(seconds)
        self.proxy.restore()

    def pid(self, name: str) -> int:
        rec = processes.find(self.settings.var_dir, name)
        assert rec is not None and processes.alive(rec), f"{name} is not running"
        return rec.pid

    def kill9(self, name: str) -> None:
        """SIGKILL the process group of ``name`` (service, gateway or store) and wait until it is gone."""
        rec = processes.find(self.settings.var_dir, name)
        os.killpg(rec.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while processes.alive(rec):
            assert time.monotonic() < deadline, f"{name} survived SIGKILL"
            time.sleep(0.05)

    def stop(self, name: str) -> None:
        processes.stop(self.settings.var_dir, processes.find(self.settings.var_dir, name))

    def restart(self, name: str) -> float:
        """Start ``name`` again (after a kill or stop) and wait until everything is healthy."""
        seconds = self.up()
        self.restarts.setdefault(name, []).append(seconds)
        return seconds

    def restart_store(self) -> float:
        """The embedded store again, on the same data folder and port."""
        started = time.monotonic()
        runner.ensure_store(self.settings, say=lambda _msg: None)
        seconds = time.monotonic() - started
        self.restarts.setdefault("store", []).append(seconds)
        return seconds

    def healthy(self, name: str) -> bool:
        return runner.healthy(runner.health_url(self.settings, name))

    # ---- talking to it ---------------------------------------------------------------------

    @property
    def amqp_uri(self) -> str:
        return self.settings.amqp_uri

    @property
    def mongo_uri(self) -> str:
        return self.settings.effective_mongo_uri

    def database_name(self, service: str) -> str:
        return self.settings.database_name(service)

    def rpc(self, timeout: float = 10.0) -> ClusterRpcProxy:
        return ClusterRpcProxy({"AMQP_URI": self.amqp_uri}, timeout=timeout)

    def token(self, role: str, subject: str, committee: str | None = None) -> str:
        return auth.mint(auth.token_config(self.settings), role, subject, committee=committee)

    def graphql(self, query: str, token: str | None = None, variables: dict | None = None,
                timeout: float = 15.0) -> dict:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        url = f"http://{self.settings.gateway_host}:{self.settings.gateway_port}/graphql"
        return requests.post(url, json={"query": query, "variables": variables or {}}, headers=headers,
                             timeout=timeout).json()


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)
