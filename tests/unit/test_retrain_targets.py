"""Retraining targets against real local HTTP(S) servers: the exact requests each target sends."""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agent.catalog.model import RetrainingTarget
from alerts.retrain.errors import DeliveryError, TargetConfigError
from alerts.retrain.targets import (
    USER_AGENT,
    HttpClient,
    JobTarget,
    SignatureError,
    Target,
    WebhookTarget,
    build_target,
    sign,
    verify,
)
from alerts.retrain.targets.http import redact_url
from alerts.retrain.targets.job import api_url_from_env
from alerts.retrain.targets.signing import (
    MalformedSignatureError,
    SignatureMismatchError,
    StaleSignatureError,
)
from alerts.retrain.trigger import Delivered, Trigger
from tests.certs import write_ca_and_server_cert
from tests.retrain_support import Received, RecordingServer, serve

TRIGGER_ID = "0123456789abcdef0123456789abcdef"
EVIDENCE = {
    "alerts": [{"alertname": "ModelmonFeatureDrift", "annotations": {"summary": "amount drifted"}}],
    "drift": {"amount": 0.31},
    "links": {"dashboard": "https://grafana.example/d/model-fraud-scorer"},
}
TRIGGER = Trigger(
    id=TRIGGER_ID,
    namespace="fraud",
    model="scorer",
    version="v3",
    created_at=1_714_564_800.25,  # 2024-05-01T12:00:00.250Z
    reason="ModelmonFeatureDrift,ModelmonLatencySLO",
    evidence=EVIDENCE,
)
CREATED_AT = "2024-05-01T12:00:00.250Z"
EXPECTED_BODY = {
    "trigger_id": TRIGGER_ID,
    "namespace": "fraud",
    "model": "scorer",
    "version": "v3",
    "reason": "ModelmonFeatureDrift,ModelmonLatencySLO",
    "created_at": CREATED_AT,
    "evidence": EVIDENCE,
}
SECRET = "hmac-Secret-0f9e8d7c"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.token-value.sig"


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with serve(RecordingServer()) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib honours *_proxy variables; the local servers must be reached directly."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def _file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _hmac_hex(key: str, message: bytes) -> str:
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def _common_headers(request: Received) -> None:
    assert request.method == "POST"
    assert request.headers["Idempotency-Key"] == TRIGGER_ID
    assert request.headers["User-Agent"] == USER_AGENT == "modelmon-retrain/0.1"
    assert request.headers["Content-Type"] == "application/json"


# -- webhook ----------------------------------------------------------------------------------------


def test_webhook_sends_a_cloudevent_in_binary_mode(server: RecordingServer) -> None:
    server.reply(200, {"run_id": "r-1"})
    target = build_target(RetrainingTarget("webhook", server.url + "/hooks/retrain"), env={})

    delivered = target.deliver(TRIGGER)

    assert isinstance(target, Target) and target.kind == "webhook"
    assert delivered == Delivered(200, "r-1")
    [request] = server.received
    assert request.path == "/hooks/retrain"
    _common_headers(request)
    assert request.headers["ce-specversion"] == "1.0"
    assert request.headers["ce-id"] == TRIGGER_ID
    assert request.headers["ce-source"] == "modelmon/retrain"
    assert request.headers["ce-type"] == "io.modelmon.retrain.requested"
    assert request.headers["ce-subject"] == "fraud/scorer"
    assert request.headers["ce-time"] == CREATED_AT
    assert "X-Modelmon-Signature" not in request.headers
    assert "X-Modelmon-Timestamp" not in request.headers
    assert request.json() == EXPECTED_BODY


def test_webhook_signs_with_a_secret_file_and_a_source_option(
    server: RecordingServer, tmp_path: Path
) -> None:
    options = {"secret_file": _file(tmp_path, "secret", SECRET + "\n"), "source": "modelmon/prod-eu"}
    target = build_target(RetrainingTarget("webhook", server.url, options=options), env={})

    before = int(time.time())
    assert target.deliver(TRIGGER) == Delivered(200, None)
    after = int(time.time())

    [request] = server.received
    assert request.headers["ce-source"] == "modelmon/prod-eu"
    timestamp = request.headers["X-Modelmon-Timestamp"]
    assert timestamp.isdigit() and before <= int(timestamp) <= after
    expected = "sha256=" + _hmac_hex(SECRET, f"{timestamp}.".encode() + request.body)
    assert request.headers["X-Modelmon-Signature"] == expected
    verify(SECRET.encode(), timestamp, expected, request.body, now=after, tolerance_seconds=300)


def test_webhook_reads_its_secret_from_the_environment_mapping(server: RecordingServer) -> None:
    spec = RetrainingTarget("webhook", server.url, options={"secret_env": "HOOK_SECRET"})
    target = WebhookTarget.from_spec(spec, http=None, env={"HOOK_SECRET": SECRET})
    target.clock = lambda: 1_700_000_000.9

    target.deliver(TRIGGER)

    [request] = server.received
    assert request.headers["X-Modelmon-Timestamp"] == "1700000000"
    assert request.headers["X-Modelmon-Signature"] == "sha256=" + _hmac_hex(
        SECRET, b"1700000000." + request.body
    )


# -- tekton -----------------------------------------------------------------------------------------


def test_tekton_posts_flat_json_signed_like_github(server: RecordingServer, tmp_path: Path) -> None:
    server.reply(202, {"eventListener": "modelmon", "namespace": "ci", "eventID": "f3c1-event"})
    options = {"secret_file": _file(tmp_path, "secret", SECRET)}
    target = build_target(RetrainingTarget("tekton", server.url + "/", options=options), env={})

    assert target.deliver(TRIGGER) == Delivered(202, "f3c1-event")

    [request] = server.received
    assert request.path == "/"
    _common_headers(request)
    assert request.headers["X-Hub-Signature-256"] == "sha256=" + _hmac_hex(SECRET, request.body)
    assert not [name for name in request.headers if name.lower().startswith("ce-")]
    assert "X-GitHub-Event" not in request.headers
    assert request.json() == EXPECTED_BODY


def test_tekton_without_secret_sends_no_signature(server: RecordingServer) -> None:
    server.reply(202, {"eventListener": "modelmon"})
    target = build_target(RetrainingTarget("tekton", server.url), env={})
    assert target.deliver(TRIGGER) == Delivered(202, None)
    assert "X-Hub-Signature-256" not in server.received[0].headers


# -- kubeflow ---------------------------------------------------------------------------------------


def test_kubeflow_creates_a_run_of_a_pipeline_version(server: RecordingServer, tmp_path: Path) -> None:
    server.reply(200, {"run_id": "8d2c-run", "display_name": "x", "state": "PENDING"})
    options = {
        "pipeline_id": "pipe-1",
        "pipeline_version_id": "ver-7",
        "experiment_id": "exp-3",
        "service_account": "pipeline-runner",
        "token_file": _file(tmp_path, "token", TOKEN + "\n"),
    }
    target = build_target(RetrainingTarget("kubeflow", server.url, options=options), env={})

    assert target.deliver(TRIGGER) == Delivered(200, "8d2c-run")

    [request] = server.received
    assert request.path == "/apis/v2beta1/runs"
    _common_headers(request)
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    body = request.json()
    assert body == {
        "display_name": "modelmon-retrain-fraud-scorer-01234567",
        "description": "ModelmonFeatureDrift,ModelmonLatencySLO\nhttps://grafana.example/d/model-fraud-scorer",
        "pipeline_version_reference": {"pipeline_id": "pipe-1", "pipeline_version_id": "ver-7"},
        "runtime_config": {
            "parameters": {
                "model": "scorer",
                "namespace": "fraud",
                "version": "v3",
                "trigger_id": TRIGGER_ID,
                "reason": "ModelmonFeatureDrift,ModelmonLatencySLO",
                "evidence": body["runtime_config"]["parameters"]["evidence"],
            }
        },
        "experiment_id": "exp-3",
        "service_account": "pipeline-runner",
    }
    assert json.loads(body["runtime_config"]["parameters"]["evidence"]) == EVIDENCE


def test_kubeflow_leaves_out_what_is_not_configured(server: RecordingServer) -> None:
    server.reply(200, {"run_id": "r"})
    spec = RetrainingTarget(
        "kubeflow", server.url, options={"pipeline_id": "pipe-1", "token_env": "KFP_TOKEN"}
    )
    build_target(spec, env={"KFP_TOKEN": TOKEN}).deliver(TRIGGER)

    [request] = server.received
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    body = request.json()
    assert body["pipeline_version_reference"] == {"pipeline_id": "pipe-1"}
    assert "experiment_id" not in body and "service_account" not in body


def test_kubeflow_needs_a_pipeline_id() -> None:
    with pytest.raises(TargetConfigError, match="pipeline_id"):
        build_target(RetrainingTarget("kubeflow", "http://127.0.0.1:1"), env={})


# -- argo -------------------------------------------------------------------------------------------


def test_argo_submits_a_workflow_template(server: RecordingServer) -> None:
    server.reply(200, {"metadata": {"name": "retrain-x7k2p", "namespace": "ml"}})
    options = {"template": "retrain", "namespace": "ml", "token_env": "ARGO_TOKEN"}
    target = build_target(RetrainingTarget("argo", server.url, options=options), env={"ARGO_TOKEN": TOKEN})

    assert target.deliver(TRIGGER) == Delivered(200, "retrain-x7k2p")

    [request] = server.received
    assert request.path == "/api/v1/workflows/ml/submit"
    _common_headers(request)
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    body = request.json()
    parameters = body["submitOptions"]["parameters"]
    assert body == {
        "namespace": "ml",
        "resourceKind": "WorkflowTemplate",
        "resourceName": "retrain",
        "submitOptions": {
            "name": "retrain-0123456789",  # the trigger's: a retry cannot start a second workflow
            "labels": f"modelmon.io/trigger-id={TRIGGER_ID},modelmon.io/model=scorer",
            "parameters": [
                "model=scorer",
                "namespace=fraud",
                "version=v3",
                f"trigger_id={TRIGGER_ID}",
                "reason=ModelmonFeatureDrift,ModelmonLatencySLO",
                parameters[-1],
            ],
        },
    }
    assert parameters[-1].startswith("evidence=")
    assert json.loads(parameters[-1].removeprefix("evidence=")) == EVIDENCE


def test_argo_counts_an_existing_workflow_of_the_trigger_as_delivered(server: RecordingServer) -> None:
    server.reply(409, {"code": 6, "message": 'workflows.argoproj.io "retrain-0123456789" already exists'})
    target = build_target(RetrainingTarget("argo", server.url, options={"template": "retrain"}), env={})
    assert target.deliver(TRIGGER) == Delivered(409, "retrain-0123456789")


def test_argo_defaults_to_the_models_namespace_and_takes_cluster_templates(server: RecordingServer) -> None:
    server.reply(200, {"metadata": {"name": "w"}})
    options = {"template": "retrain", "resource_kind": "ClusterWorkflowTemplate"}
    build_target(RetrainingTarget("argo", server.url, options=options), env={}).deliver(TRIGGER)

    [request] = server.received
    assert request.path == "/api/v1/workflows/fraud/submit"
    assert "Authorization" not in request.headers
    assert request.json()["resourceKind"] == "ClusterWorkflowTemplate"


@pytest.mark.parametrize(
    ("options", "match"),
    [({}, "template"), ({"template": "t", "resource_kind": "CronWorkflow"}, "resource_kind")],
)
def test_argo_configuration_errors(options: dict[str, str], match: str) -> None:
    with pytest.raises(TargetConfigError, match=match):
        build_target(RetrainingTarget("argo", "http://127.0.0.1:1", options=options), env={})


# -- job --------------------------------------------------------------------------------------------

JOB_TEMPLATE = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: fraud-retrain
  labels: {team: risk}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: train
          image: registry.example/train:1.4
          env:
            - {name: EPOCHS, value: "3"}
            - {name: MODELMON_MODEL, value: stale}
        - name: sidecar
          image: registry.example/side:1
"""


@pytest.fixture
def job_options(server: RecordingServer, tmp_path: Path) -> dict[str, str]:
    return {
        "template_file": _file(tmp_path, "job.yaml", JOB_TEMPLATE),
        "api_url": server.url,
        "token_file": _file(tmp_path, "token", TOKEN),
    }


def test_job_creates_a_named_labelled_job_with_the_trigger_as_env(
    server: RecordingServer, job_options: dict[str, str]
) -> None:
    server.reply(201, {"kind": "Job", "metadata": {"name": "fraud-retrain-0123456789"}})
    target = build_target(RetrainingTarget("job", options=job_options), env={})

    assert target.deliver(TRIGGER) == Delivered(201, "fraud-retrain-0123456789")

    [request] = server.received
    assert request.path == "/apis/batch/v1/namespaces/fraud/jobs"
    _common_headers(request)
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    job = request.json()
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job"
    assert job["metadata"]["name"] == "fraud-retrain-0123456789"
    assert job["metadata"]["namespace"] == "fraud"
    assert job["metadata"]["labels"] == {
        "team": "risk",
        "modelmon.io/trigger-id": TRIGGER_ID,
        "modelmon.io/model": "scorer",
        "app.kubernetes.io/managed-by": "modelmon",
    }
    assert job["metadata"]["annotations"] == {"modelmon.io/reason": "ModelmonFeatureDrift,ModelmonLatencySLO"}
    assert job["spec"]["backoffLimit"] == 1
    train, sidecar = job["spec"]["template"]["spec"]["containers"]
    ours = {
        "MODELMON_TRIGGER_ID": TRIGGER_ID,
        "MODELMON_MODEL": "scorer",
        "MODELMON_NAMESPACE": "fraud",
        "MODELMON_MODEL_VERSION": "v3",
        "MODELMON_REASON": "ModelmonFeatureDrift,ModelmonLatencySLO",
    }
    for container in (train, sidecar):
        env = {item["name"]: item["value"] for item in container["env"]}
        assert {name: env[name] for name in ours} == ours
        assert json.loads(env["MODELMON_EVIDENCE"]) == EVIDENCE
        assert [item["name"] for item in container["env"]].count("MODELMON_MODEL") == 1
    assert {"name": "EPOCHS", "value": "3"} in train["env"]


def test_job_retry_after_a_lost_answer_is_delivered_and_rereads_the_token(
    server: RecordingServer, job_options: dict[str, str], tmp_path: Path
) -> None:
    server.reply(201, {"metadata": {"name": "fraud-retrain-0123456789"}})
    server.reply(409, {"kind": "Status", "reason": "AlreadyExists", "code": 409})
    target = build_target(RetrainingTarget("job", options=job_options | {"namespace": "ml"}), env={})

    first = target.deliver(TRIGGER)
    (tmp_path / "token").write_text("rotated-token")
    second = target.deliver(TRIGGER)

    assert first == Delivered(201, "fraud-retrain-0123456789")
    assert second == Delivered(409, "fraud-retrain-0123456789")
    one, two = server.received
    assert one.path == two.path == "/apis/batch/v1/namespaces/ml/jobs"
    assert one.json()["metadata"]["name"] == two.json()["metadata"]["name"]
    assert one.headers["Authorization"] == f"Bearer {TOKEN}"
    assert two.headers["Authorization"] == "Bearer rotated-token"


def test_job_names_are_dns_labels_of_at_most_63_characters(tmp_path: Path) -> None:
    template = JOB_TEMPLATE.replace("fraud-retrain", "Very_Long.Template-Name-" + "x" * 60)
    options = {
        "template_file": _file(tmp_path, "job.yaml", template),
        "api_url": "http://127.0.0.1:1",
        "token_file": _file(tmp_path, "token", TOKEN),
    }
    target = build_target(RetrainingTarget("job", options=options), env={})
    assert isinstance(target, JobTarget)
    name = target.job_name(TRIGGER)
    assert len(name) <= 63 and name.endswith("-0123456789") and name.startswith("very-long-template-name-x")
    assert name == target.job_name(TRIGGER)


@pytest.mark.parametrize(
    ("template", "match"),
    [
        (JOB_TEMPLATE.replace("kind: Job", "kind: Pod"), "kind Job"),
        (JOB_TEMPLATE.replace("batch/v1", "batch/v1beta1"), "batch/v1"),
        (JOB_TEMPLATE.replace("restartPolicy: Never", "restartPolicy: Always"), "restartPolicy"),
        ("kind: Job\nspec: {template: {spec: {restartPolicy: Never}}}\n", "containers"),
        ("kind: [Job\n", "not YAML"),
    ],
)
def test_job_template_must_be_a_job(tmp_path: Path, template: str, match: str) -> None:
    options = {
        "template_file": _file(tmp_path, "job.yaml", template),
        "api_url": "http://127.0.0.1:1",
        "token_file": _file(tmp_path, "token", TOKEN),
    }
    with pytest.raises(TargetConfigError, match=match):
        build_target(RetrainingTarget("job", options=options), env={})


def test_job_finds_the_api_server_in_the_pod_environment() -> None:
    assert api_url_from_env({"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}) == (
        "https://10.96.0.1:443"
    )
    assert api_url_from_env({"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "6443"}) == (
        "https://[fd00::1]:6443"
    )
    assert api_url_from_env({}) is None
    with pytest.raises(TargetConfigError, match="api_url"):
        build_target(RetrainingTarget("job", options={"template_file": "/nonexistent"}), env={})


# -- failures ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        *((status, True) for status in (500, 502, 503, 408, 429)),
        *((status, False) for status in (400, 401, 403, 404, 422)),
    ],
)
def test_http_statuses_decide_whether_to_retry(server: RecordingServer, status: int, retryable: bool) -> None:
    server.reply(status, {"message": "no"})
    target = build_target(RetrainingTarget("webhook", server.url), env={})
    with pytest.raises(DeliveryError) as caught:
        target.deliver(TRIGGER)
    assert caught.value.retryable is retryable
    assert caught.value.status == status
    assert str(status) in str(caught.value)


def test_redirects_are_not_followed(server: RecordingServer) -> None:
    server.reply(307, headers={"Location": server.url + "/elsewhere"})
    target = build_target(RetrainingTarget("webhook", server.url + "/hook"), env={})
    with pytest.raises(DeliveryError, match="redirect") as caught:
        target.deliver(TRIGGER)
    assert caught.value.retryable is False and caught.value.status == 307
    assert [r.path for r in server.received] == ["/hook"]


def test_job_conflict_is_delivered_but_other_job_errors_are_not(
    server: RecordingServer, job_options: dict[str, str]
) -> None:
    server.reply(403, {"kind": "Status", "reason": "Forbidden"})
    target = build_target(RetrainingTarget("job", options=job_options), env={})
    with pytest.raises(DeliveryError) as caught:
        target.deliver(TRIGGER)
    assert caught.value.retryable is False


def test_connection_refused_is_retryable() -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        url = f"http://127.0.0.1:{closed.server_address[1]}"
    target = build_target(RetrainingTarget("webhook", url), env={})
    with pytest.raises(DeliveryError, match="refused") as caught:
        target.deliver(TRIGGER)
    assert caught.value.retryable is True and caught.value.status is None


def test_a_server_that_does_not_answer_times_out_retryably(server: RecordingServer) -> None:
    server.hang = True
    target = WebhookTarget(server.url, HttpClient(timeout=0.2))
    with pytest.raises(DeliveryError, match="timed out") as caught:
        target.deliver(TRIGGER)
    assert caught.value.retryable is True


def test_errors_carry_neither_secrets_nor_query_strings(server: RecordingServer, tmp_path: Path) -> None:
    server.reply(401, {"error": f"bad token {TOKEN}"})
    options = {"pipeline_id": "p", "token_file": _file(tmp_path, "token", TOKEN)}
    target = build_target(RetrainingTarget("kubeflow", server.url + "/kfp?key=qs-secret", options=options))
    with pytest.raises(DeliveryError) as caught:
        target.deliver(TRIGGER)
    assert TOKEN not in str(caught.value) and "qs-secret" not in str(caught.value)
    assert "[redacted]" in str(caught.value)
    assert redact_url("https://user:pw@host:8443/p?q=1#f") == "https://host:8443/p"


def test_evidence_that_is_not_json_is_refused_before_sending(server: RecordingServer) -> None:
    target = build_target(RetrainingTarget("webhook", server.url), env={})
    bad = Trigger(TRIGGER_ID, "fraud", "scorer", None, 0.0, "r", evidence={"psi": float("nan")})
    with pytest.raises(DeliveryError) as caught:
        target.deliver(bad)
    assert caught.value.retryable is False and server.received == []


# -- configuration ----------------------------------------------------------------------------------


def test_missing_secret_file_names_the_option(tmp_path: Path) -> None:
    spec = RetrainingTarget("webhook", "http://127.0.0.1:1", options={"secret_file": str(tmp_path / "nope")})
    with pytest.raises(TargetConfigError, match="'secret_file'"):
        build_target(spec, env={})


def test_unset_secret_variable_names_the_option_and_variable() -> None:
    spec = RetrainingTarget(
        "argo", "http://127.0.0.1:1", options={"template": "t", "token_env": "ARGO_TOKEN"}
    )
    with pytest.raises(TargetConfigError, match=r"'token_env'.*ARGO_TOKEN"):
        build_target(spec, env={})


def test_a_bad_secret_is_refused_without_being_quoted(tmp_path: Path) -> None:
    secret = "line-one\nInjected: header"
    options = {"pipeline_id": "p", "token_file": _file(tmp_path, "token", secret)}
    with pytest.raises(TargetConfigError, match="token_file") as caught:
        build_target(RetrainingTarget("kubeflow", "http://127.0.0.1:1", options=options), env={})
    assert "line-one" not in str(caught.value) and "Injected" not in str(caught.value)
    both = {"secret_file": "/x", "secret_env": "X"}
    with pytest.raises(TargetConfigError, match="not both"):
        build_target(RetrainingTarget("webhook", "http://127.0.0.1:1", options=both), env={"X": "y"})


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        (RetrainingTarget("airflow", "http://127.0.0.1:1"), "unknown retraining target type"),
        (RetrainingTarget("webhook", None), "url"),
        (RetrainingTarget("webhook", "http://127.0.0.1:1", options={"timeout": "soon"}), "timeout"),
        (RetrainingTarget("webhook", "https://127.0.0.1:1", options={"ca_file": "/nonexistent"}), "ca_file"),
    ],
)
def test_configuration_errors(spec: RetrainingTarget, match: str) -> None:
    with pytest.raises(TargetConfigError, match=match):
        build_target(spec, env={})


# -- TLS with a private CA --------------------------------------------------------------------------


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[RecordingServer, str]]:
    ca, cert, key = write_ca_and_server_cert(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = RecordingServer()
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with serve(server) as running:
        yield running, ca


def test_https_trusts_the_ca_file_option_and_only_it(tls_server: tuple[RecordingServer, str]) -> None:
    server, ca = tls_server
    server.reply(202, {"eventID": "e"})
    trusted = build_target(RetrainingTarget("tekton", server.url, options={"ca_file": ca}), env={})
    assert trusted.deliver(TRIGGER) == Delivered(202, "e")
    assert server.received[0].json() == EXPECTED_BODY

    untrusted = build_target(RetrainingTarget("tekton", server.url), env={})
    with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED") as caught:
        untrusted.deliver(TRIGGER)
    assert caught.value.retryable is True


# -- signing ----------------------------------------------------------------------------------------

BODY = b'{"trigger_id":"abc"}'


def test_sign_is_hmac_sha256_over_timestamp_dot_body() -> None:
    assert sign(b"k", 1_700_000_000, BODY) == "sha256=" + _hmac_hex("k", b"1700000000." + BODY)


def test_verify_accepts_a_good_signature_within_tolerance() -> None:
    signature = sign(b"k", 1_700_000_000, BODY)
    verify(b"k", "1700000000", signature, BODY, now=1_700_000_299, tolerance_seconds=300)
    verify(b"k", "1700000000", signature.upper().replace("SHA256=", "sha256="), BODY, now=1_699_999_800)


@pytest.mark.parametrize(
    ("secret", "timestamp", "signature", "body", "error"),
    [
        (b"other", "1700000000", None, BODY, SignatureMismatchError),
        (b"k", "1700000000", None, BODY + b" ", SignatureMismatchError),
        (b"k", "1700000001", None, BODY, SignatureMismatchError),
        (b"k", "1700000000", "sha256=" + "0" * 64, BODY, SignatureMismatchError),
        (b"k", None, None, BODY, MalformedSignatureError),
        (b"k", "17e8", None, BODY, MalformedSignatureError),
        (b"k", "-1700000000", None, BODY, MalformedSignatureError),
        (b"k", "1700000000", "", BODY, MalformedSignatureError),
        (b"k", "1700000000", "sha1=" + "0" * 40, BODY, MalformedSignatureError),
        (b"k", "1700000000", "sha256=zz" + "0" * 62, BODY, MalformedSignatureError),
        (b"k", "1700000000", "sha256=" + "0" * 63, BODY, MalformedSignatureError),
    ],
)
def test_verify_rejects(
    secret: bytes, timestamp: str | None, signature: str | None, body: bytes, error: type[SignatureError]
) -> None:
    good = sign(b"k", 1_700_000_000, BODY)
    header = good if signature is None and timestamp is not None else signature
    with pytest.raises(error) as caught:
        verify(secret, timestamp, header, body, now=1_700_000_000, tolerance_seconds=300)
    assert isinstance(caught.value, ValueError) and str(caught.value)
    assert good.removeprefix("sha256=") not in str(caught.value)


@pytest.mark.parametrize("now", [1_700_000_301, 1_699_999_699])
def test_verify_rejects_stale_and_future_timestamps(now: int) -> None:
    signature = sign(b"k", 1_700_000_000, BODY)
    with pytest.raises(StaleSignatureError, match="tolerance"):
        verify(b"k", "1700000000", signature, BODY, now=now, tolerance_seconds=300)
