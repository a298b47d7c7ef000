"""The store and messaging suites again, against a RabbitMQ and a MongoDB (a one-node replica
set) started in containers by testcontainers: what `compose.yaml` and a cluster run.

Needs a Docker engine. Where none answers (this project's CI machines have only the docker
client), the test is skipped with that reason; it is never counted as passed.
"""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
SUITES = ["tests/store", "tests/kit"]


def _engine_problem() -> str | None:
    try:
        import docker
        docker.from_env(timeout=3).ping()
        return None
    except Exception as exc:  # no engine, no socket, no permission
        return f"no Docker engine answers here ({type(exc).__name__}: {str(exc)[:120]})"


@pytest.fixture(scope="module")
def containers():
    problem = _engine_problem()
    if problem:
        pytest.skip(problem)
    from testcontainers.core.container import DockerContainer

    rabbit = DockerContainer("rabbitmq:3.13-management").with_exposed_ports(5672, 15672)
    mongo = DockerContainer("mongo:7").with_exposed_ports(27017).with_command("--replSet rs0 --bind_ip_all")
    with rabbit, mongo:
        host = rabbit.get_container_host_ip()
        amqp = f"amqp://guest:guest@{host}:{rabbit.get_exposed_port(5672)}/"
        management = f"http://guest:guest@{host}:{rabbit.get_exposed_port(15672)}"
        mongo_uri = f"mongodb://{mongo.get_container_host_ip()}:{mongo.get_exposed_port(27017)}/?directConnection=true"
        _wait_for_rabbitmq(management)
        _initiate_replica_set(mongo_uri)
        yield {"AMQP_URI": amqp, "RABBITMQ_MANAGEMENT_URI": management, "MONGO_URI": mongo_uri}


def _wait_for_rabbitmq(management: str, timeout: float = 90) -> None:
    import requests
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(management + "/api/overview", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise TimeoutError("RabbitMQ in its container did not answer in time")


def _initiate_replica_set(uri: str, timeout: float = 60) -> None:
    import pymongo
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=30_000)
    try:
        client.admin.command("replSetInitiate", {"_id": "rs0", "members": [{"_id": 0, "host": "localhost:27017"}]})
    except pymongo.errors.OperationFailure as exc:
        if "already initialized" not in str(exc):
            raise
    deadline = time.monotonic() + timeout
    while not client.admin.command("hello").get("isWritablePrimary"):
        if time.monotonic() > deadline:
            raise TimeoutError("the replica set elected no primary in time")
        time.sleep(0.5)
    client.close()


@pytest.mark.parametrize("suite", SUITES)
def test_suite_passes_against_the_containers(containers, suite):
    env = {**os.environ, **containers}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", suite],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and " skipped" not in run.stdout.splitlines()[-1]
