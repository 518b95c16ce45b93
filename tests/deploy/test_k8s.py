"""The Kubernetes manifests validate against Kubernetes' own schemas and hold the security settings."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import aiohttp
import kubernetes_validate
import pytest
import yaml
from aiohttp import web

from adapters.server import create_app
from adapters.settings import Settings
from bot.engine import Engine

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
# the oldest Kubernetes still widely run (AKS, EKS and GKE long-term support), the newest the validator knows
VERSIONS = ("1.31.0", "1.37.0")
SECRET = "nhsmail-bot"
SECRET_KEYS = {"MicrosoftAppPassword", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "DATABASE_URL"}


def manifests() -> list[tuple[str, dict[str, Any]]]:
    return [
        (path.name, document)
        for path in sorted(K8S.glob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if document
    ]


def kind(name: str) -> dict[str, Any]:
    [found] = [document for _, document in manifests() if document["kind"] == name]
    return found


def container() -> dict[str, Any]:
    [bot] = kind("Deployment")["spec"]["template"]["spec"]["containers"]
    return bot


def test_every_kind_is_there_once() -> None:
    kinds = sorted(document["kind"] for _, document in manifests())
    assert kinds == sorted(
        [
            "ConfigMap",
            "Deployment",
            "HorizontalPodAutoscaler",
            "Ingress",
            "NetworkPolicy",
            "PodDisruptionBudget",
            "Service",
        ]
    )


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("name", "document"), manifests(), ids=[name for name, _ in manifests()])
def test_manifest_validates(name: str, document: dict[str, Any], version: str) -> None:
    """Strict: a misspelt field (readOnlyRootFileSystem) is an error, not silently ignored."""
    kubernetes_validate.validate(document, version, strict=True)


def test_the_validator_rejects_a_misspelt_field() -> None:
    deployment = copy.deepcopy(kind("Deployment"))
    [bot] = deployment["spec"]["template"]["spec"]["containers"]
    bot["securityContext"]["readOnlyRootFileSystem"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[0], strict=True)


def test_no_secret_is_defined_here() -> None:
    """Secrets are made apart from the repository; the manifests only name them."""
    assert all(document["kind"] != "Secret" for _, document in manifests())


def test_the_deployment_references_each_secret_by_name() -> None:
    env = {item["name"]: item for item in container()["env"]}
    assert env.keys() >= SECRET_KEYS
    for key in SECRET_KEYS:
        reference = env[key]["valueFrom"]["secretKeyRef"]
        assert (reference["name"], reference["key"]) == (SECRET, key) and "value" not in env[key]
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"].get("optional", False) is False
    configmap = kind("ConfigMap")
    assert container()["envFrom"] == [{"configMapRef": {"name": configmap["metadata"]["name"]}}]
    assert not SECRET_KEYS & configmap["data"].keys()


def test_the_pod_runs_as_a_numeric_non_root_user_with_nothing_to_escalate() -> None:
    pod = kind("Deployment")["spec"]["template"]["spec"]
    for context in (pod["securityContext"], container()["securityContext"]):
        assert context["runAsNonRoot"] is True
        assert isinstance(context["runAsUser"], int) and context["runAsUser"] >= 10000
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    context = container()["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert pod["automountServiceAccountToken"] is False
    tmp = [mount for mount in container()["volumeMounts"] if mount["mountPath"] == "/tmp"]
    assert tmp and "emptyDir" in {v["name"]: v for v in pod["volumes"]}[tmp[0]["name"]]


def test_two_replicas_with_resources_and_probes() -> None:
    deployment = kind("Deployment")
    assert deployment["spec"]["replicas"] == 2
    bot = container()
    assert {"cpu", "memory"} <= bot["resources"]["requests"].keys()
    assert "memory" in bot["resources"]["limits"]
    assert bot["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert bot["readinessProbe"]["httpGet"]["path"] == "/readyz"
    ports = {port["name"]: port["containerPort"] for port in bot["ports"]}
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert bot[probe]["httpGet"]["port"] in ports and bot[probe]["timeoutSeconds"] >= 1


def test_autoscaler_and_disruption_budget_keep_two_and_one() -> None:
    hpa = kind("HorizontalPodAutoscaler")["spec"]
    assert hpa["minReplicas"] >= 2 and hpa["maxReplicas"] >= hpa["minReplicas"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "nhsmail-bot"}
    assert kind("PodDisruptionBudget")["spec"]["minAvailable"] >= 1


def test_every_selector_finds_the_pods() -> None:
    labels = kind("Deployment")["spec"]["template"]["metadata"]["labels"]
    selectors = [
        kind("Deployment")["spec"]["selector"]["matchLabels"],
        kind("Service")["spec"]["selector"],
        kind("PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
        kind("NetworkPolicy")["spec"]["podSelector"]["matchLabels"],
    ]
    for selector in selectors:
        assert selector.items() <= labels.items()


def test_the_ingress_serves_tls_and_only_the_platform_endpoints() -> None:
    ingress = kind("Ingress")["spec"]
    [tls] = ingress["tls"]
    [rule] = ingress["rules"]
    assert rule["host"] in tls["hosts"] and tls["secretName"]
    paths = {path["path"] for path in rule["http"]["paths"]}
    assert paths == {"/api/messages", "/slack/events"}
    service = kind("Service")
    port_names = {port["name"] for port in service["spec"]["ports"]}
    for path in rule["http"]["paths"]:
        backend = path["backend"]["service"]
        assert backend["name"] == service["metadata"]["name"] and backend["port"]["name"] in port_names


def test_the_network_policy_lets_in_only_chosen_peers_and_out_dns_https_postgres() -> None:
    policy = kind("NetworkPolicy")["spec"]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    port = next(p["containerPort"] for p in container()["ports"] if p["name"] == "http")
    for rule in policy["ingress"]:
        assert rule["from"] and all("ipBlock" not in peer for peer in rule["from"])
        assert rule["ports"] == [{"protocol": "TCP", "port": port}]
    allowed_out = {(p["protocol"], p["port"]) for rule in policy["egress"] for p in rule["ports"]}
    assert allowed_out == {("UDP", 53), ("TCP", 53), ("TCP", 443), ("TCP", 5432)}


@pytest.mark.parametrize("probe", ["livenessProbe", "readinessProbe", "startupProbe"])
async def test_each_probe_path_answers_on_the_real_server(probe: str, engine: Engine) -> None:
    path = container()[probe]["httpGet"]["path"]
    app = create_app(Settings(), engine)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        async with aiohttp.ClientSession() as session, session.get(f"http://{host}:{port}{path}") as response:
            assert response.status == 200
    finally:
        await runner.cleanup()
