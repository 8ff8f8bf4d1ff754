"""The sidecar injector: real AdmissionReview v1 requests over TLS to the running webhook; each
patch applied with a JSONPatch library, the pod validated against the Kubernetes schemas and held
to OpenShift's restricted-v2 rules."""

from __future__ import annotations

import base64
import copy
import http.client
import json
import shutil
import ssl
import uuid
from pathlib import Path
from typing import Any

import jsonpatch
import kubernetes_validate
import pytest

from agent.catalog import parse_catalog
from agent.injector import AGENT_CONTAINER, STATUS, CatalogEntries, DefaultsFile, InjectorServer
from agent.tls import ReloadingTLS
from tests.certs import write_ca_and_server_cert

SCHEMA = "1.30"


def _pod(annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    """A pod as a Deployment's ReplicaSet creates it: generateName, no name, the model on port http."""
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": "credit-risk-7d9f8b6c5-",
            "namespace": "fraud",
            "labels": {"app.kubernetes.io/name": "credit-risk", "app.kubernetes.io/version": "v3"},
            "annotations": {"modelmon.io/inject": "true", **(annotations or {})},
        },
        "spec": {
            "containers": [
                {
                    "name": "model",
                    "image": "quay.io/example/credit-risk:3",
                    "ports": [
                        {"name": "http", "containerPort": 8080},
                        {"name": "grpc", "containerPort": 9000},
                    ],
                    "readinessProbe": {"httpGet": {"path": "/v1/models/credit-risk", "port": "http"}},
                    "livenessProbe": {"tcpSocket": {"port": "http"}},
                }
            ],
            **spec,
        },
    }
    return pod


def _review(pod: dict[str, Any], namespace: str = "fraud", operation: str = "CREATE") -> dict[str, Any]:
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": namespace,
            "operation": operation,
            "object": pod,
            "dryRun": False,
        },
    }


@pytest.fixture
def certs(tmp_path):
    ca, cert, key = write_ca_and_server_cert(tmp_path)
    return Path(ca), Path(cert), Path(key)


@pytest.fixture
def defaults_file(tmp_path):
    path = tmp_path / "defaults.yaml"
    path.write_text("image: registry.example/modelmon:0.1.0\nkafka_bootstrap: kafka.modelmon.svc:9092\n")
    return path


CATALOG = """
defaults:
  window: {size: 30s}
models:
  - namespace: fraud
    name: credit-risk
    features: [{name: income, type: float}, {name: region, type: category}]
    outputs: [{name: score, type: float}]
    reference: {path: reference.parquet}
    retraining: {type: webhook, url: "http://pipeline/retrain"}
"""


@pytest.fixture
def injector(certs, defaults_file, tmp_path):
    _, cert, key = certs
    (tmp_path / "models.yaml").write_text(CATALOG)
    catalog = CatalogEntries(tmp_path / "models.yaml")
    server = InjectorServer(
        "127.0.0.1", 0, ReloadingTLS(cert, key), DefaultsFile(defaults_file), catalog
    ).start()
    yield server
    server.stop()


def _post(server: InjectorServer, ca: Path, body: bytes) -> tuple[int, Any]:
    context = ssl.create_default_context(cafile=str(ca))
    conn = http.client.HTTPSConnection("127.0.0.1", server.server_port, context=context, timeout=10)
    try:
        conn.request("POST", "/mutate", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def _admit(server, certs, pod, **review) -> tuple[dict[str, Any], dict[str, Any]]:
    """The webhook's response, and the pod as the API server stores it (the patch applied)."""
    request = _review(pod, **review)
    status, answer = _post(server, certs[0], json.dumps(request).encode())
    assert status == 200
    assert answer["apiVersion"] == "admission.k8s.io/v1" and answer["kind"] == "AdmissionReview"
    response = answer["response"]
    assert response["uid"] == request["request"]["uid"] and response["allowed"] is True
    if "patch" not in response:
        return response, pod
    assert response["patchType"] == "JSONPatch"
    patch = json.loads(base64.b64decode(response["patch"]))
    return response, jsonpatch.apply_patch(pod, patch)


def _agent(pod: dict[str, Any]) -> dict[str, Any]:
    (agent,) = [
        c
        for c in pod["spec"].get("initContainers", []) + pod["spec"]["containers"]
        if c["name"] == AGENT_CONTAINER
    ]
    return agent


def _restricted_v2(pod: dict[str, Any]) -> None:
    """OpenShift's restricted-v2 SCC / the restricted Pod Security Standard, for the injected container."""
    agent = _agent(pod)
    security = agent["securityContext"]
    assert "runAsUser" not in security and "runAsGroup" not in security  # the SCC assigns them
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert security["runAsNonRoot"] is True and security["readOnlyRootFilesystem"] is True
    assert "privileged" not in security
    resources = agent["resources"]
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
    assert all(port["containerPort"] > 1024 for port in agent["ports"])
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    for mount in agent["volumeMounts"]:
        assert "emptyDir" in volumes[mount["name"]]  # writable places are the pod's own emptyDirs
    assert not any("hostPath" in v for v in volumes.values())


def _valid(pod: dict[str, Any]) -> None:
    pod = copy.deepcopy(pod)
    pod["metadata"]["name"] = pod["metadata"]["generateName"] + "x1y2z"  # as the API server names it
    kubernetes_validate.validate(pod, SCHEMA, strict=True)


def test_a_deployments_pod_gets_a_native_sidecar_that_takes_over_the_named_port(injector, certs):
    pod = _pod()
    response, injected = _admit(injector, certs, pod)
    assert "warnings" not in response
    _valid(injected)
    _restricted_v2(injected)
    agent = _agent(injected)
    assert injected["spec"]["initContainers"] == [agent] and agent["restartPolicy"] == "Always"
    assert agent["image"] == "registry.example/modelmon:0.1.0"  # from the defaults ConfigMap
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in agent["env"]}
    assert env["MODELMON_MODEL"] == "fraud/credit-risk" and env["MODELMON_MODEL_VERSION"] == "v3"
    assert (
        env["MODELMON_UPSTREAM_PORT"] == "8080"
        and env["MODELMON_KAFKA_BOOTSTRAP"] == "kafka.modelmon.svc:9092"
    )
    assert env["MODELMON_POD_UID"] == {"fieldRef": {"fieldPath": "metadata.uid"}}
    # Services with targetPort: http now reach the agent; the model keeps 8080, its probes use the number
    assert {"name": "http", "containerPort": 8180, "protocol": "TCP"} in agent["ports"]
    model = injected["spec"]["containers"][0]
    assert model["ports"] == [{"containerPort": 8080}, {"name": "grpc", "containerPort": 9000}]
    assert (
        model["readinessProbe"]["httpGet"]["port"] == 8080
        and model["livenessProbe"]["tcpSocket"]["port"] == 8080
    )
    assert injected["metadata"]["labels"]["modelmon.io/injected"] == "true"  # what the PodMonitor selects
    status = json.loads(injected["metadata"]["annotations"][STATUS])
    assert status["mode"] == "native-sidecar" and status["movedPort"] == "http"


def test_reinvocation_and_injected_pods_are_never_injected_twice(injector, certs):
    _, injected = _admit(injector, certs, _pod())
    response, again = _admit(injector, certs, injected)
    assert "patch" not in response and again == injected


def test_a_jobs_pod_finishes_because_the_sidecar_is_native(injector, certs):
    pod = _pod(
        restartPolicy="Never", initContainers=[{"name": "fetch", "image": "busybox", "command": ["true"]}]
    )
    _, injected = _admit(injector, certs, pod)
    _valid(injected)
    names = [c["name"] for c in injected["spec"]["initContainers"]]
    assert names == ["fetch", AGENT_CONTAINER]  # after the pod's own init containers, before the model
    assert _agent(injected)["restartPolicy"] == "Always"


def test_a_pod_with_several_containers_names_its_model_and_port(injector, certs):
    pod = _pod(
        {
            "modelmon.io/container": "server",
            "modelmon.io/model-port": "8501",
            "modelmon.io/model": "risk/scorer",
        }
    )
    pod["spec"]["containers"].insert(
        0, {"name": "proxy", "image": "envoy", "ports": [{"name": "admin", "containerPort": 9901}]}
    )
    pod["spec"]["containers"][1] = {
        "name": "server",
        "image": "tfserving",
        "ports": [{"containerPort": 8501}],
    }
    pod["spec"]["volumes"] = [{"name": "models", "emptyDir": {}}]
    response, injected = _admit(injector, certs, pod)
    _valid(injected)
    _restricted_v2(injected)
    env = {e["name"]: e.get("value") for e in _agent(injected)["env"]}
    assert env["MODELMON_MODEL"] == "risk/scorer" and env["MODELMON_UPSTREAM_PORT"] == "8501"
    assert [v["name"] for v in injected["spec"]["volumes"]] == ["models", "modelmon-spool", "modelmon-tmp"]
    unnamed, not_in_catalog = response["warnings"]
    assert "has no name" in unnamed and "8180" in unnamed  # nothing to move: Services on 8501 skip the agent
    assert "risk/scorer is not in the catalog" in not_in_catalog


def test_opting_out_not_asking_host_network_and_system_namespaces_are_left_alone(injector, certs):
    for pod, namespace, warned in (
        (_pod({"modelmon.io/inject": "false"}), "fraud", False),
        (_pod({"modelmon.io/inject": "false", "modelmon.io/model": "BAD NAME"}), "fraud", False),
        ({**_pod(), "metadata": {**_pod()["metadata"], "annotations": {}}}, "fraud", False),
        (_pod(hostNetwork=True), "fraud", True),
        (_pod(), "kube-system", False),
        (_pod(), "openshift-monitoring", False),
    ):
        response, after = _admit(injector, certs, pod, namespace=namespace)
        assert "patch" not in response and after == pod
        assert ("warnings" in response) == warned


@pytest.mark.parametrize(
    ("annotations", "problem"),
    [
        ({"modelmon.io/sample-fraction": "2"}, "sample-fraction"),
        ({"modelmon.io/model-port": "metrics"}, "no port named 'metrics'"),
        ({"modelmon.io/model": "Credit Risk"}, "namespace/name"),
        ({"modelmon.io/container": "sidecar"}, "names no container"),
        ({"modelmon.io/inject": "maybe"}, 'must be "true" or "false"'),
        ({"modelmon.io/ready-path": "healthz"}, "starting with '/'"),
        ({"modelmon.io/model-port": "99999"}, "1 to 65535"),
    ],
)
def test_invalid_annotations_admit_the_pod_uninjected_with_a_warning(injector, certs, annotations, problem):
    pod = _pod(annotations)
    response, after = _admit(injector, certs, pod)
    assert "patch" not in response and after == pod
    assert any(problem in w and w.startswith("modelmon: not injected") for w in response["warnings"])


def test_the_fallback_injects_an_ordinary_container(injector, certs):
    _, injected = _admit(injector, certs, _pod({"modelmon.io/native-sidecar": "false"}))
    _valid(injected)
    _restricted_v2(injected)
    assert "initContainers" not in injected["spec"]
    assert [c["name"] for c in injected["spec"]["containers"]] == ["model", AGENT_CONTAINER]
    assert "restartPolicy" not in _agent(injected)


def test_not_a_review_is_a_400_and_other_operations_pass(injector, certs):
    assert _post(injector, certs[0], b"{not json")[0] == 400
    assert (
        _post(injector, certs[0], b'{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1beta1"}')[0]
        == 400
    )
    response, _ = _admit(injector, certs, _pod(), operation="UPDATE")
    assert response == {"uid": response["uid"], "allowed": True}


def test_new_defaults_apply_to_the_next_pod(injector, certs, defaults_file):
    defaults_file.write_text("image: registry.example/modelmon:0.2.0\nnative_sidecar: false\n")
    _, injected = _admit(injector, certs, _pod())
    assert _agent(injected)["image"] == "registry.example/modelmon:0.2.0"
    assert "initContainers" not in injected["spec"]


def _peer_certificate(server: InjectorServer) -> bytes:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", server.server_port, context=context, timeout=10)
    try:
        conn.request("GET", "/healthz")
        assert conn.getresponse().read() == b"ok\n"
        return conn.sock.getpeercert(binary_form=True)
    finally:
        conn.close()


def test_a_rotated_certificate_is_served_to_new_connections_without_a_restart(injector, certs, tmp_path):
    before = _peer_certificate(injector)
    fresh = tmp_path / "rotated"
    fresh.mkdir()
    ca, cert, key = write_ca_and_server_cert(fresh)
    shutil.copy(key, certs[2])  # the key first: in between, the old pair keeps serving
    shutil.copy(cert, certs[1])
    after = _peer_certificate(injector)
    assert after != before and after == ssl.PEM_cert_to_DER_cert(Path(cert).read_text())
    status, _ = _post(injector, Path(ca), json.dumps(_review(_pod())).encode())  # trusted by the new CA
    assert status == 200
    assert injector.tls.reloads == 1


def test_modelmon_inject_serve_runs_the_webhook_from_its_settings(certs, defaults_file, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    from deploy.processes import free_port, wait_until

    port = free_port()
    env = os.environ | {
        "MODELMON_INJECTOR_PORT": str(port),
        "MODELMON_INJECTOR_CERT_FILE": str(certs[1]),
        "MODELMON_INJECTOR_KEY_FILE": str(certs[2]),
        "MODELMON_INJECTOR_DEFAULTS_FILE": str(defaults_file),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "deploy.cli", "inject", "serve"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        context = ssl.create_default_context(cafile=str(certs[0]))

        def answers() -> bool:
            conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=5)
            try:
                conn.request("POST", "/mutate", json.dumps(_review(_pod())).encode())
                response = conn.getresponse()
                return response.status == 200 and "patch" in json.loads(response.read())["response"]
            finally:
                conn.close()

        wait_until(answers, 30, what="the injector process")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
        output = process.stdout.read()
        process.stdout.close()
    assert f"injector on https://0.0.0.0:{port}/mutate" in output


def test_the_agent_gets_its_models_catalog_entry_and_a_model_outside_the_catalog_a_warning(injector, certs):
    _, injected = _admit(injector, certs, _pod())
    env = {e["name"]: e.get("value") for e in _agent(injected)["env"]}
    catalog = parse_catalog(env["MODELMON_CATALOG_YAML"])  # what the agent parses at start
    (model,) = catalog
    assert model.identity == "fraud/credit-risk" and [c.name for c in model.features] == ["income", "region"]
    assert model.window.size_seconds == 30.0 and model.retraining is None and not model.references
    response, other = _admit(injector, certs, _pod({"modelmon.io/model": "pricing"}))
    assert any("fraud/pricing is not in the catalog" in w for w in response["warnings"])
    assert "MODELMON_CATALOG_YAML" not in {e["name"] for e in _agent(other)["env"]}


def test_the_settings_carry_an_inline_catalog_to_the_agent():
    from deploy.config import load_settings

    settings = load_settings(
        None, {"MODELMON_CATALOG_YAML": CATALOG, "MODELMON_INJECTOR_CATALOG_FILE": "/c.yaml"}
    )
    assert settings.capture.catalog_yaml == CATALOG
    assert str(settings.injector.catalog_file) == "/c.yaml"


def test_pods_the_agent_cannot_join_are_admitted_uninjected_with_the_reason(injector, certs):
    root = _pod(securityContext={"runAsUser": 0})
    taken = _pod(
        initContainers=[
            {"name": "cache", "image": "redis", "restartPolicy": "Always", "ports": [{"containerPort": 8180}]}
        ]
    )
    portless = _pod()
    del portless["spec"]["containers"][0]["ports"]
    for pod, problem in (
        (root, "runs as root"),
        (taken, "already uses port 8180"),
        (portless, "declares no port"),
    ):
        response, after = _admit(injector, certs, pod)
        assert "patch" not in response and after == pod
        assert any(problem in w for w in response["warnings"]), response["warnings"]


def test_a_proxy_sidecar_put_first_by_another_injector_is_not_taken_for_the_model(injector, certs):
    pod = _pod()
    pod["spec"]["containers"].insert(
        0,
        {
            "name": "istio-proxy",
            "image": "istio/proxyv2",
            "ports": [{"name": "http-envoy-prom", "containerPort": 15090}],
        },
    )
    _, injected = _admit(injector, certs, pod)
    env = {e["name"]: e.get("value") for e in _agent(injected)["env"]}
    assert env["MODELMON_UPSTREAM_PORT"] == "8080"
    assert injected["spec"]["containers"][0]["ports"] == [{"name": "http-envoy-prom", "containerPort": 15090}]
    named = _pod({"kubectl.kubernetes.io/default-container": "model"})
    named["spec"]["containers"].append(
        {"name": "logger", "image": "fluent", "ports": [{"name": "http", "containerPort": 2020}]}
    )
    _, injected = _admit(injector, certs, named)
    assert {e["name"]: e.get("value") for e in _agent(injected)["env"]}["MODELMON_UPSTREAM_PORT"] == "8080"


def test_a_secret_volume_swap_rotates_the_certificate(tmp_path):
    """Kubelet updates a mounted Secret by pointing the ..data symlink at a new folder."""
    mount = tmp_path / "mount"
    mount.mkdir()
    first, second = tmp_path / "a", tmp_path / "b"
    for folder in (first, second):
        folder.mkdir()
        write_ca_and_server_cert(folder)
    (mount / "..data").symlink_to(first)
    for name in ("cert.pem", "key.pem"):
        (mount / name).symlink_to(Path("..data") / name)
    server = InjectorServer(
        "127.0.0.1", 0, ReloadingTLS(mount / "cert.pem", mount / "key.pem"), DefaultsFile(None)
    ).start()
    try:
        assert _peer_certificate(server) == ssl.PEM_cert_to_DER_cert((first / "cert.pem").read_text())
        swap = mount / "..data_tmp"
        swap.symlink_to(second)
        swap.replace(mount / "..data")  # the atomic rename kubelet does
        assert _peer_certificate(server) == ssl.PEM_cert_to_DER_cert((second / "cert.pem").read_text())
    finally:
        server.stop()


def test_defaults_pass_settings_to_every_agent_and_refuse_nonsense(injector, certs, defaults_file):
    from agent.errors import ConfigError
    from agent.injector import parse_defaults

    defaults_file.write_text(
        "agent_env: [MODELMON_KAFKA_SECURITY_PROTOCOL=SSL, OTEL_SERVICE_NAME=credit-risk]\n"
    )
    _, injected = _admit(injector, certs, _pod())
    env = {e["name"]: e.get("value") for e in _agent(injected)["env"]}
    assert env["MODELMON_KAFKA_SECURITY_PROTOCOL"] == "SSL" and env["OTEL_SERVICE_NAME"] == "credit-risk"
    for text, problem in (
        ("agent_env: [PATH=/evil]\n", "MODELMON_"),
        ("agent_port: 9180\n", "both 9180"),
        ("imag: x\n", "unknown key"),
        ("native_sidecar: maybe\n", "true or false"),
    ):
        with pytest.raises(ConfigError, match=problem):
            parse_defaults(text)
    defaults_file.write_text("agent_port: 9180\n")  # a broken edit keeps the previous defaults
    _, again = _admit(injector, certs, _pod())
    assert {e["name"]: e.get("value") for e in _agent(again)["env"]}["MODELMON_LISTEN_PORT"] == "8180"
