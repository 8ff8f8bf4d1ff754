"""The Kustomize manifests: each overlay renders with the real ``kubectl kustomize``, every core
resource validates against the Kubernetes schemas, custom resources have their required structure,
every workload is restricted-v2 safe, and the generated parts are current."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from agent.catalog.load import load_catalog
from agent.injector import parse_defaults
from alerts import AlertSettings
from alerts import generate as generate_alerts
from dashboards import generate as generate_dashboards
from tests.conftest import need_binary

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "base"
SCHEMA = "1.30"
MODEL_NAMESPACES = sorted({model.namespace for model in load_catalog(BASE / "models.yaml")})
CORE_GROUPS = ("v1", "apps/v1", "policy/v1", "rbac.authorization.k8s.io/v1", "networking.k8s.io/v1",
               "admissionregistration.k8s.io/v1")  # fmt: skip
CUSTOM = {  # kind: (apiVersion, keys its spec must have)
    "ServiceMonitor": ("monitoring.coreos.com/v1", {"selector", "endpoints"}),
    "PodMonitor": ("monitoring.coreos.com/v1", {"selector", "podMetricsEndpoints"}),
    "PrometheusRule": ("monitoring.coreos.com/v1", {"groups"}),
    "KafkaTopic": ("kafka.strimzi.io/v1beta2", {"partitions", "replicas"}),
    "Certificate": ("cert-manager.io/v1", {"secretName", "issuerRef"}),
    "Issuer": ("cert-manager.io/v1", set()),
    "Route": ("route.openshift.io/v1", {"to"}),
}


def _render(overlay: str) -> list[dict[str, Any]]:
    kubectl = need_binary("kubectl", shutil.which("kubectl"))
    done = subprocess.run(
        [kubectl, "kustomize", str(ROOT / "deploy" / "overlays" / overlay)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="module", params=["kubernetes", "openshift"])
def rendered(request) -> tuple[str, list[dict[str, Any]]]:
    return request.param, _render(request.param)


def _by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def test_every_resource_validates(rendered):
    _, docs = rendered
    for doc in docs:
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "modelmon", doc["metadata"]["name"]
        if doc["apiVersion"] in CORE_GROUPS:
            kubernetes_validate.validate(doc, SCHEMA, strict=True)
            continue
        assert doc["kind"] in CUSTOM, f"unexpected {doc['apiVersion']} {doc['kind']}"
        api_version, required = CUSTOM[doc["kind"]]
        assert doc["apiVersion"] == api_version
        # the rules and monitors of a model's agents live in the model's namespace
        assert doc["metadata"]["name"] and doc["metadata"]["namespace"] in ("modelmon", *MODEL_NAMESPACES)
        assert required <= set(doc.get("spec") or {}), (doc["kind"], doc["metadata"]["name"])


def test_workloads_are_restricted_v2_safe_and_sized(rendered):
    _, docs = rendered
    deployments = _by_kind(docs, "Deployment")
    assert {d["metadata"]["name"] for d in deployments} == {
        "modelmon-injector",
        "modelmon-aggregator",
        "modelmon-retrain",
    }
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in pod["containers"]:
            security = container["securityContext"]
            assert "runAsUser" not in security and "runAsGroup" not in security
            assert "runAsUser" not in pod["securityContext"] and "fsGroup" not in pod["securityContext"]
            assert security["allowPrivilegeEscalation"] is False and security["capabilities"] == {
                "drop": ["ALL"]
            }
            assert security["readOnlyRootFilesystem"] is True
            assert (
                set(container["resources"]["requests"])
                == set(container["resources"]["limits"])
                == {"cpu", "memory"}
            )
            assert all(p["containerPort"] > 1024 for p in container.get("ports", []))
            assert container["image"] == "quay.io/modelmon/modelmon:0.1.0"


def test_the_webhook_never_blocks_pods_and_is_highly_available(rendered):
    overlay, docs = rendered
    (config,) = _by_kind(docs, "MutatingWebhookConfiguration")
    (hook,) = config["webhooks"]
    assert hook["failurePolicy"] == "Ignore" and hook["sideEffects"] == "None"
    assert hook["timeoutSeconds"] <= 10 and hook["reinvocationPolicy"] == "IfNeeded"
    assert hook["namespaceSelector"] == {"matchLabels": {"modelmon.io/injection": "enabled"}}
    assert hook["clientConfig"]["service"] == {
        "name": "modelmon-injector",
        "namespace": "modelmon",
        "path": "/mutate",
        "port": 443,
    }
    (injector,) = [d for d in _by_kind(docs, "Deployment") if d["metadata"]["name"] == "modelmon-injector"]
    assert injector["spec"]["replicas"] >= 2
    (budget,) = _by_kind(docs, "PodDisruptionBudget")
    assert budget["spec"]["minAvailable"] == 1
    annotations = config["metadata"]["annotations"]
    (service,) = [s for s in _by_kind(docs, "Service") if s["metadata"]["name"] == "modelmon-injector"]
    if overlay == "kubernetes":
        assert annotations == {"cert-manager.io/inject-ca-from": "modelmon/modelmon-injector"}
        (certificate,) = [
            c for c in _by_kind(docs, "Certificate") if c["metadata"]["name"] == "modelmon-injector"
        ]
        assert certificate["spec"]["secretName"] == "modelmon-injector-tls"
        assert "modelmon-injector.modelmon.svc" in certificate["spec"]["dnsNames"]
    else:
        assert annotations == {"service.beta.openshift.io/inject-cabundle": "true"}
        assert service["metadata"]["annotations"] == {
            "service.beta.openshift.io/serving-cert-secret-name": "modelmon-injector-tls"
        }
        (route,) = _by_kind(docs, "Route")
        assert (
            route["spec"]["to"]["name"] == "modelmon-retrain"
            and route["spec"]["tls"]["termination"] == "edge"
        )


def test_the_injector_defaults_configmap_parses():
    defaults = parse_defaults((BASE / "injector-defaults.yaml").read_text())
    assert defaults.native_sidecar and defaults.agent_port == 8180


@pytest.mark.parametrize(
    ("overlay", "label", "folders"),
    [
        ("kubernetes", "namespace", ("prometheusrules",)),
        ("openshift", "exported_namespace", ("prometheusrules", "podmonitors")),
    ],
)
def test_the_generated_rules_and_dashboards_are_current(tmp_path, overlay, label, folders):
    catalog = load_catalog(BASE / "models.yaml")
    generate_alerts(catalog, tmp_path / "alerts", AlertSettings(namespace="modelmon", namespace_label=label))
    generate_dashboards(catalog, tmp_path / "dashboards")
    pairs = [
        (tmp_path / "alerts" / f, ROOT / "deploy" / "overlays" / overlay / "generated" / f) for f in folders
    ]
    pairs.append((tmp_path / "dashboards" / "configmaps", BASE / "generated" / "configmaps"))
    for fresh, shipped in pairs:
        compared = filecmp.dircmp(fresh, shipped)
        stale = compared.diff_files + compared.left_only + compared.right_only
        assert not stale, (
            f"regenerate {shipped.relative_to(ROOT)} (see the kustomization.yaml beside it): {stale}"
        )


def test_under_user_workload_monitoring_the_rules_read_the_models_namespace_where_it_moved():
    docs = _render("openshift")
    rules = {d["metadata"]["name"]: d for d in _by_kind(docs, "PrometheusRule")}
    model = rules["modelmon-demo-credit-risk"]
    assert model["metadata"]["namespace"] == "modelmon"
    (drift,) = [r for r in model["spec"]["groups"][0]["rules"] if r["alert"] == "ModelmonDatasetDrift"]
    assert 'namespace="modelmon", exported_namespace="demo"' in drift["expr"]
    agents = rules["modelmon-demo-credit-risk-agents"]
    assert agents["metadata"]["namespace"] == "demo"  # the agents' series are scraped there
    assert {r["alert"] for r in agents["spec"]["groups"][0]["rules"]} == {
        "ModelmonAgentDown", "ModelmonModelNotReady", "ModelmonAgentSpoolFilling",
    }  # fmt: skip
    assert any(d["metadata"]["namespace"] == "demo" for d in _by_kind(docs, "PodMonitor"))


def test_the_containerfile_is_openshift_friendly():
    text = (ROOT / "deploy" / "Containerfile").read_text()
    instructions = [
        line.split(None, 1) for line in text.splitlines() if line and not line.startswith(("#", " "))
    ]
    bases = [rest for word, rest in instructions if word == "FROM"]
    assert bases and all(b.startswith("registry.access.redhat.com/ubi9/") for b in bases)
    users = [rest.strip() for word, rest in instructions if word == "USER"]
    assert users[-1] == "1001"  # non-root; OpenShift may run it as any UID, always in group 0
    assert "chgrp -R 0 /var/lib/modelmon" in text and "chmod -R g=u /var/lib/modelmon" in text
    exposed = [int(p) for word, rest in instructions if word == "EXPOSE" for p in rest.split()]
    assert exposed and min(exposed) > 1024
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert {"modelmon", "modelmon-agent"} <= set(scripts)
    for source in ("agent/", "collectors/", "drift/", "dashboards/", "alerts/", "deploy/"):
        assert f"COPY {source}" in text or f"COPY {source.rstrip('/')}/*.py" in text


def test_every_topic_has_the_predictions_topics_partitions(rendered):
    """Labels and hardware samples are keyed like predictions, and the checkpoint of input partition
    p goes to partition p of the checkpoint topic: fewer partitions there break the aggregator."""
    _, docs = rendered
    topics = {d["spec"]["topicName"]: d["spec"]["partitions"] for d in _by_kind(docs, "KafkaTopic")}
    predictions = topics["modelmon.predictions.v1"]
    assert set(topics.values()) == {predictions} and len(topics) == 4


def test_the_pod_monitor_selects_only_injected_pods(rendered):
    _, docs = rendered
    monitors = _by_kind(docs, "PodMonitor")
    assert monitors and all(
        m["spec"]["selector"] == {"matchLabels": {"modelmon.io/injected": "true"}} for m in monitors
    )
