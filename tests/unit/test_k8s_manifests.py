"""Every manifest under infra/k8s/ is valid: core kinds against the Kubernetes schemas bundled
with ``kubernetes-validate`` (offline), the operators' and KEDA's kinds by the fields their
CRDs require (no CRD schemas are bundled), and the pieces refer to each other correctly."""
import os
import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from infra import topology
from services.common import config

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "infra" / "k8s"
# the oldest Kubernetes we claim (autoscaling/v2, policy/v1, batch/v1 are GA there) and the newest bundled
VERSIONS = ("1.27.0", kubernetes_validate.latest_version())
CUSTOM_KINDS = {("rabbitmq.com/v1beta2", "RabbitmqCluster"), ("mongodbcommunity.mongodb.com/v1", "MongoDBCommunity"),
                ("keda.sh/v1alpha1", "ScaledObject"), ("keda.sh/v1alpha1", "TriggerAuthentication")}
PARTS = [*topology.SERVICE_CLASSES, "gateway"]


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def documents(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


ALL = [(path, doc) for path in manifest_files() for doc in documents(path)]


def of_kind(kind: str, folder: str = "base") -> dict[str, dict]:
    return {d["metadata"]["name"]: d for p, d in ALL if d["kind"] == kind and p.parent.name == folder}


def test_there_are_manifests():
    kinds = {d["kind"] for _, d in ALL}
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "ConfigMap", "Secret", "Job",
            "RabbitmqCluster", "MongoDBCommunity", "ScaledObject"} <= kinds


@pytest.mark.parametrize("path,doc", [(p, d) for p, d in ALL if (d["apiVersion"], d["kind"]) not in CUSTOM_KINDS],
                         ids=lambda v: v.name if isinstance(v, Path) else f"{v['kind']}/{v['metadata']['name']}")
@pytest.mark.parametrize("version", VERSIONS)
def test_core_manifest_is_valid_against_the_kubernetes_schema(path, doc, version):
    # strict: an unknown (misspelt) field is an error too
    kubernetes_validate.validate(doc, version, strict=True)


def test_a_misspelt_field_is_caught():
    deployment = yaml.safe_load((K8S / "base" / "gateway.yaml").read_text().split("\n---\n")[0])
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGett"] = {"path": "/health"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)


def test_every_kind_is_either_core_or_checked_here():
    for path, doc in ALL:
        key = (doc["apiVersion"], doc["kind"])
        if key in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, VERSIONS[-1], strict=True)
        except kubernetes_validate.SchemaNotFoundError:  # a new CRD: add its checks below
            pytest.fail(f"{path.name}: {key} has no schema and no check here")


# --- custom resources: the fields their CRDs require, and what the suite relies on ------

def test_rabbitmq_cluster():
    (cluster,) = of_kind("RabbitmqCluster").values()
    spec = cluster["spec"]
    assert spec["replicas"] >= 3 and spec["replicas"] % 2 == 1  # quorum queues need a majority
    assert re.fullmatch(r"rabbitmq:3\.1[3-9][\w.-]*", spec["image"])  # quorum vhost defaults and policies tested on 3.10+
    assert spec["persistence"]["storage"]
    assert "cluster_partition_handling = pause_minority" in spec["rabbitmq"]["additionalConfig"]


def test_mongodb_community():
    (mongo,) = of_kind("MongoDBCommunity").values()
    spec = mongo["spec"]
    assert spec["type"] == "ReplicaSet" and spec["members"] >= 3 and re.fullmatch(r"\d+\.\d+\.\d+", spec["version"])
    assert spec["security"]["authentication"]["modes"] == ["SCRAM"]
    (user,) = spec["users"]
    for field in ("name", "db", "passwordSecretRef", "roles", "scramCredentialsSecretName"):
        assert user[field], field
    assert user["passwordSecretRef"]["name"] in of_kind("Secret")
    granted = {r["db"] for r in user["roles"] if r["name"] == "readWrite"}
    assert granted == {f"suite_{s}" for s in topology.SERVICE_CLASSES}  # SUITE_DB_PREFIX=suite
    assert of_kind("ConfigMap")["suite-config"]["data"]["SUITE_DB_PREFIX"] == "suite"


def test_keda_scaled_objects_target_the_services():
    deployments = of_kind("Deployment")
    auths = of_kind("TriggerAuthentication", "keda")
    scaled = of_kind("ScaledObject", "keda")
    assert set(scaled) == set(topology.SERVICE_CLASSES)
    for name, obj in scaled.items():
        spec = obj["spec"]
        assert spec["scaleTargetRef"]["name"] in deployments
        rabbit = next(t for t in spec["triggers"] if t["type"] == "rabbitmq")
        assert rabbit["authenticationRef"]["name"] in auths
        pattern = re.compile(rabbit["metadata"]["queueName"])
        own = [q.name for q in topology.queues() if q.name.startswith("evt-") and f"--{name}." in q.name]
        assert all(pattern.search(q) for q in own) and pattern.search(f"rpc-{name}")
        others = [q.name for q in topology.queues() if q.name.startswith("evt-") and f"--{name}." not in q.name]
        assert not any(pattern.search(q) for q in others)
    for auth in auths.values():
        assert all({"parameter", "name", "key"} <= set(ref) for ref in auth["spec"]["secretTargetRef"])


# --- the pieces fit --------------------------------------------------------------------

def test_each_part_has_deployment_service_autoscaler_and_probes():
    deployments, services, hpas = of_kind("Deployment"), of_kind("Service"), of_kind("HorizontalPodAutoscaler")
    assert set(deployments) == set(PARTS)
    for name in PARTS:
        pod = deployments[name]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["args"] == ["serve", name]
        port = {p["name"]: p["containerPort"] for p in container["ports"]}["http"]
        assert port == config.HEALTH_PORTS.get(name, 8000)
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}, (name, probe)
        resources = container["resources"]
        assert resources["requests"]["cpu"] and resources["requests"]["memory"]
        assert resources["limits"]["cpu"] and resources["limits"]["memory"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert services[name]["spec"]["selector"] == deployments[name]["spec"]["selector"]["matchLabels"]
        assert hpas[name]["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert hpas[name]["spec"]["minReplicas"] >= 2


def _containers():
    for kind in ("Deployment", "Job"):
        for obj in of_kind(kind).values():
            pod = obj["spec"]["template"]["spec"]
            yield from pod.get("initContainers", []) + pod["containers"]


def test_config_and_secrets_refer_to_what_exists():
    configmaps, secrets = of_kind("ConfigMap"), of_kind("Secret")
    (rabbit,) = of_kind("RabbitmqCluster")
    (mongo,) = of_kind("MongoDBCommunity").values()
    user = mongo["spec"]["users"][0]
    # what the operators create
    operator_secrets = {f"{rabbit}-default-user",
                        f"{mongo['metadata']['name']}-{user['db']}-{user['name']}"}
    for container in _containers():
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                assert source["configMapRef"]["name"] in configmaps
            if "secretRef" in source:
                assert source["secretRef"]["name"] in secrets
        names = {k for s in container.get("envFrom", []) if "configMapRef" in s
                 for k in configmaps[s["configMapRef"]["name"]]["data"]}
        for var in container.get("env", []):
            ref = var.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["name"] in secrets or ref["name"] in operator_secrets, ref["name"]
            # $(VAR) is expanded only from variables defined before it
            for used in re.findall(r"\$\((\w+)\)", var.get("value", "")):
                assert used in names, (container["name"], var["name"], used)
            names.add(var["name"])


def test_configmap_keys_are_variables_the_suite_reads():
    source = "\n".join(p.read_text(encoding="utf-8") for folder in ("services", "gateway", "infra")
                       for p in (ROOT / folder).rglob("*.py"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")  # its table of variables
    manifests = "\n".join(p.read_text() for p in manifest_files())
    for key in of_kind("ConfigMap")["suite-config"]["data"]:
        assert f"`{key}`" in readme or f'"{key}"' in source or f"$({key})" in manifests, f"{key} is read by nothing"


def test_kustomizations_list_every_manifest_and_only_existing_ones():
    listed = set()
    for kustomization in K8S.rglob("kustomization.yaml"):
        doc = yaml.safe_load(kustomization.read_text())
        assert doc["kind"] == "Kustomization"
        for resource in doc["resources"]:
            target = (kustomization.parent / resource).resolve()
            assert target.exists(), f"{kustomization}: {resource}"
            listed.add(target)
        for patch in doc.get("patches", []):
            deleted = yaml.safe_load(patch["patch"])
            assert deleted["metadata"]["name"] in of_kind(deleted["kind"])
    assert set(p.resolve() for p in manifest_files()) <= listed


@pytest.mark.parametrize("overlay", ["base", "keda"])
def test_kustomize_renders_and_the_result_validates(overlay):
    import shutil
    import subprocess

    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if os.environ.get("SUITE_REQUIRE_KUBECTL"):   # CI (.ci/run) installs it: never a silent skip there
            pytest.fail("kubectl is required here (SUITE_REQUIRE_KUBECTL) and is not installed")
        pytest.skip("kubectl is not installed: the kustomizations are not rendered here")
    out = subprocess.run([kubectl, "kustomize", str(K8S / overlay)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rendered = [d for d in yaml.safe_load_all(out.stdout) if d]
    for doc in rendered:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "smart-community"
        if (doc["apiVersion"], doc["kind"]) not in CUSTOM_KINDS:
            kubernetes_validate.validate(doc, VERSIONS[-1], strict=True)
    hpas = {d["metadata"]["name"] for d in rendered if d["kind"] == "HorizontalPodAutoscaler"}
    assert hpas == ({"gateway"} if overlay == "keda" else set(PARTS))  # never two autoscalers on one Deployment
