"""compose.yaml and the image, checked without a Docker engine: health checks, start order,
the variables the code reads, and a Dockerfile that keeps build tools out of the final stage."""
import re
from pathlib import Path

import pytest
import yaml

from infra import topology
from services.common import config

ROOT = Path(__file__).resolve().parents[2]
PARTS = [*topology.SERVICE_CLASSES, "gateway"]
CONDITIONS = {"service_healthy", "service_started", "service_completed_successfully"}


@pytest.fixture(scope="module")
def services():
    return yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))["services"]


def one_shot(service: dict) -> bool:
    return service.get("restart") == "no"


def test_every_long_running_service_has_a_healthcheck(services):
    for name, service in services.items():
        if one_shot(service):  # deploy, demo: they finish; others wait for their success instead
            assert "healthcheck" not in service
            continue
        check = service.get("healthcheck")
        assert check and check["test"][0] == "CMD" and check["retries"] >= 10, name


def test_every_dependency_waits_on_a_condition_that_can_hold(services):
    for name, service in services.items():
        if name in ("rabbitmq", "mongo"):
            assert "depends_on" not in service
            continue
        depends = service["depends_on"]
        assert isinstance(depends, dict) and depends, name  # the long form: a condition per dependency
        for target, rule in depends.items():
            assert rule["condition"] in CONDITIONS - {"service_started"}, (name, target)
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[target], (name, target)
            else:
                assert one_shot(services[target]), (name, target)


def test_start_order(services):
    def waits_for(name):
        return set(services[name].get("depends_on", {}))

    for part in topology.SERVICE_CLASSES:  # the topology and indexes are in place first
        assert {"rabbitmq", "mongo", "deploy"} <= waits_for(part)
        assert services[part]["depends_on"]["deploy"]["condition"] == "service_completed_successfully"
    assert set(topology.SERVICE_CLASSES) <= waits_for("gateway")
    assert waits_for("demo") == {"gateway"}


def test_suite_containers_run_the_image_by_command(services):
    for name in PARTS:
        service = services[name]
        assert service["build"] == {"context": ".", "dockerfile": "infra/docker/Dockerfile"}
        assert service["command"] == ["serve", name]
        env = service["environment"]
        port = config.HEALTH_PORTS.get(name, 8000)
        assert int(env["GATEWAY_PORT" if name == "gateway" else f"{name.upper()}_PORT"]) == port
        assert env["GATEWAY_HOST"] == "0.0.0.0"  # reachable from the other containers and the host
        assert f"http://127.0.0.1:{port}/health" in service["healthcheck"]["test"][-1]
    assert services["deploy"]["command"] == ["deploy"]
    assert services["demo"]["command"] == ["seed", "--token"]
    assert "8000:8000" in services["gateway"]["ports"]  # the README's GraphQL example


def test_environment_names_the_broker_and_store_containers(services):
    env = services["gateway"]["environment"]
    assert env["AMQP_URI"].startswith("amqp://guest:guest@rabbitmq:5672/")
    assert env["RABBITMQ_MANAGEMENT_URI"] == "http://guest:guest@rabbitmq:15672"
    assert env["MONGO_URI"] == "mongodb://mongo:27017/?replicaSet=rs0"
    # the replica set is initiated under the name the containers use
    assert "host: 'mongo:27017'" in services["mongo"]["healthcheck"]["test"][-1]
    assert env["QUEUE_TYPE"] == "classic"  # as the definitions file declares them


def test_environment_variables_are_ones_the_suite_reads(services):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    source = "\n".join(p.read_text(encoding="utf-8") for folder in ("services", "gateway", "infra")
                       for p in (ROOT / folder).rglob("*.py"))
    for key in services["gateway"]["environment"]:
        assert f"`{key}`" in readme or f'"{key}"' in source, f"{key} is read by nothing"


# --- the image -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stages():
    text = (ROOT / "infra" / "docker" / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)  # join continued lines
    parts = re.split(r"^FROM ", text, flags=re.M)
    return text, ["FROM " + p for p in parts[1:]]


def test_dockerfile_is_multi_stage_with_a_slim_non_root_final_stage(stages):
    text, (build, final) = stages
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    assert build.startswith("FROM ${PYTHON_IMAGE} AS build") and final.startswith("FROM ${PYTHON_IMAGE}\n")
    assert "build-essential" in build and not re.search(r"build-essential|gcc|apt-get install", final)
    assert "COPY --from=build /opt/suite /opt/suite" in final
    user = re.search(r"^USER (\S+)", final, flags=re.M).group(1)
    assert not user.startswith(("0", "root"))
    assert 'ENTRYPOINT ["suite"]' in final


def test_dockerignore_lets_in_what_the_dockerfile_copies(stages):
    text, _ = stages
    ignore = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    copied = {m for line in re.findall(r"^COPY (?!--from)(.+)$", text, flags=re.M) for m in line.split()[:-1]}
    assert copied == {"pyproject.toml", "README.md", "contracts", "services", "gateway", "infra"}
    assert ignore[0] == "**"  # everything else stays out (var/, .venv, .git, tests)
    for path in copied:
        assert f"!{path}" in ignore or f"!{path}/" in ignore, path
