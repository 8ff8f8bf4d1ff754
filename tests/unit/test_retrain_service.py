"""The retraining service over real HTTP on loopback, with a recording webhook target."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace

import pytest

from agent.catalog import parse_catalog
from alerts.retrain import RetrainError, RetrainService, RetrainSettings
from alerts.retrain.targets import sign
from deploy.processes import free_port
from tests.helpers import wait_until
from tests.retrain_support import RecordingServer, am_alert, am_notification, http, serve

TOKEN = "tok-7c1e9a2b5d"
SECRET = "hmac-key-3f8d0b6a"
OTHER_MODEL = """
  - namespace: demo
    name: no-target
    features: [{name: x, type: float}]
"""


def _catalog(target_url: str, cooldown: str = "1h"):
    return parse_catalog(
        f"""
models:
  - namespace: demo
    name: credit-risk
    versions: [v1]
    features: [{{name: income, type: float}}]
    retraining: {{type: webhook, url: "{target_url}/retrain", cooldown: {cooldown}}}
{OTHER_MODEL}"""
    )


@pytest.fixture
def secrets(tmp_path):
    (tmp_path / "token").write_text(TOKEN + "\n")
    (tmp_path / "hmac").write_text(SECRET)
    return tmp_path


def _settings(folder, **changes) -> RetrainSettings:
    base = RetrainSettings(
        host="127.0.0.1",
        port=0,
        database=folder / "retrain.db",
        token_file=folder / "token",
        hmac_secret_file=folder / "hmac",
        backoff_initial_seconds=0.05,
        backoff_max_seconds=0.2,
    )
    return replace(base, **changes)


@pytest.fixture
def target():
    with serve(RecordingServer()) as server:
        yield server


@pytest.fixture
def service(secrets, target):
    with RetrainService(_settings(secrets), _catalog(target.url), poll_seconds=0.05) as running:
        yield running


def _signed(
    body: bytes, *, token: str = TOKEN, secret: str = SECRET, at: float | None = None
) -> dict[str, str]:
    stamp = int(time.time() if at is None else at)
    return {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "X-Modelmon-Timestamp": str(stamp),
        "X-Modelmon-Signature": sign(secret.encode(), stamp, body),
    }


def _post_alerts(service, *alerts, headers=None, body=None):
    body = body if body is not None else json.dumps(am_notification(*alerts)).encode()
    return http("POST", f"{service.url}/alerts", body, headers if headers is not None else _signed(body))


def _triggers(service, state=None):
    suffix = f"?state={state}" if state else ""
    status, listing = http("GET", f"{service.url}/triggers{suffix}", headers=_signed(b""))
    assert status == 200
    return listing["triggers"]


def _metric(service, line_start: str) -> float:
    _, text = http("GET", f"{service.url}/metrics")
    (line,) = [line for line in text.splitlines() if line.startswith(line_start)]
    return float(line.rsplit(" ", 1)[1])


def test_one_incident_becomes_one_cloudevent_however_often_alertmanager_repeats_it(service, target):
    status, answer = _post_alerts(service, am_alert())
    assert status == 200 and answer["outcomes"] == {"triggered": 1}
    for _ in range(3):
        assert _post_alerts(service, am_alert())[1]["outcomes"] == {"duplicate": 1}
    wait_until(lambda: _triggers(service, "running"), 10, what="the trigger delivered")
    (request,) = target.received
    assert request.path == "/retrain" and request.headers["ce-type"] == "io.modelmon.retrain.requested"
    event = request.json()
    assert event["trigger_id"] == answer["triggers"][0] == request.headers["ce-id"]
    assert event["evidence"]["alerts"][0]["fingerprint"] == "a1b2c3d4e5f60718"
    assert event["evidence"]["links"]["dashboard"] == "http://grafana/d/x"
    (trigger,) = _triggers(service)
    assert (trigger["state"], trigger["attempts"], trigger["last_error"]) == ("running", 1, None)
    assert _metric(service, 'modelmon_retrain_alerts_total{outcome="duplicate"}') == 3
    assert (
        _metric(service, 'modelmon_retrain_delivery_attempts_total{outcome="delivered",target="webhook"}')
        == 1
    )
    assert _metric(service, 'modelmon_retrain_triggers{state="running"}') == 1


def test_resolved_unlabelled_and_unknown_model_alerts_trigger_nothing(service, target):
    status, answer = _post_alerts(
        service,
        am_alert(status="resolved"),
        am_alert("ModelmonAgentDown", retrain=False, fingerprint="02"),
        am_alert(model="no-target", fingerprint="03"),
        am_alert(model="not-in-catalog", fingerprint="04"),
    )
    assert status == 200
    assert answer == {"outcomes": {"resolved": 1, "not_configured": 1, "unknown_model": 2}, "triggers": []}
    assert _triggers(service) == [] and target.received == []


def test_a_run_in_flight_then_the_cooldown_hold_new_incidents(service, target):
    first = _post_alerts(service, am_alert())[1]["triggers"][0]
    wait_until(lambda: _triggers(service, "running"), 10, what="delivery")
    assert _post_alerts(service, am_alert(fingerprint="0b"))[1]["outcomes"] == {"in_flight": 1}
    # the pipeline reports back; completing needs credentials too
    assert (
        http("POST", f"{service.url}/triggers/{first}/complete", b"{}", {"Content-Type": "application/json"})[
            0
        ]
        == 401
    )
    done = json.dumps({"trigger_id": first, "status": "succeeded"}).encode()
    status, answer = http("POST", f"{service.url}/triggers/{first}/complete", done, _signed(done))
    assert (status, answer["state"]) == (200, "completed")
    assert http("POST", f"{service.url}/triggers/{first}/complete", done, _signed(done))[0] == 404
    assert _post_alerts(service, am_alert(fingerprint="0c"))[1]["outcomes"] == {"cooldown": 1}
    assert len(target.received) == 1


def test_a_target_that_is_down_gets_the_trigger_once_it_is_back(secrets):
    port = free_port()
    with RetrainService(
        _settings(secrets), _catalog(f"http://127.0.0.1:{port}"), poll_seconds=0.05
    ) as service:
        trigger_id = _post_alerts(service, am_alert())[1]["triggers"][0]
        wait_until(lambda: _triggers(service)[0]["attempts"] >= 3, 10, what="failed attempts")
        (pending,) = _triggers(service, "pending")
        assert "127.0.0.1" in pending["last_error"] and pending["id"] == trigger_id
        with serve(RecordingServer(port)) as target:
            wait_until(lambda: _triggers(service, "running"), 10, what="delivery once the target is back")
            (request,) = target.received
            assert request.json()["trigger_id"] == trigger_id
        assert (
            _metric(service, 'modelmon_retrain_delivery_attempts_total{outcome="retry",target="webhook"}')
            >= 2
        )


def test_a_target_that_refuses_fails_the_trigger_without_retrying(secrets, target):
    target.status = 400
    with RetrainService(_settings(secrets), _catalog(target.url), poll_seconds=0.05) as service:
        _post_alerts(service, am_alert())
        wait_until(lambda: _triggers(service, "failed"), 10, what="the trigger failed")
        assert len(target.received) == 1
        assert "400" in _triggers(service)[0]["last_error"]
        # a failed trigger does not hold the cooldown: the next incident triggers again
        assert _post_alerts(service, am_alert(fingerprint="0d"))[1]["outcomes"] == {"triggered": 1}


def _bad_requests():
    body = json.dumps(am_notification(am_alert())).encode()
    big = b"{" + b" " * 2_000_000 + b"}"
    return {
        "missing_token": (401, body, {"Content-Type": "application/json"}),
        "wrong_token": (401, body, _signed(body, token="tok-7c1e9a2b5e")),
        "bad_signature": (401, body, _signed(body, secret="not-the-key")),
        "stale_timestamp": (401, body, _signed(body, at=time.time() - 3600)),
        "too_large": (413, big, _signed(big)),
        "malformed": (400, b'{"version": "4", "alerts": [', _signed(b'{"version": "4", "alerts": [')),
        "unsupported_media_type": (415, body, _signed(body) | {"Content-Type": "text/plain"}),
    }


@pytest.mark.parametrize("reason", list(_bad_requests()))
def test_bad_requests_get_a_4xx_store_nothing_and_never_log_secrets(reason, service, target, caplog):
    caplog.set_level(logging.DEBUG)
    status, body, headers = _bad_requests()[reason]
    got, answer = http("POST", f"{service.url}/alerts", body, headers)
    assert got == status, answer
    if got != 413:
        assert answer["reason"] == reason
    assert service.outbox.triggers() == [] and service.outbox.incident_counts() == {}
    assert _metric(service, f'modelmon_retrain_requests_rejected_total{{reason="{reason}"}}') == 1
    assert target.received == []
    logged = caplog.text
    assert reason in logged
    for secret in (TOKEN, SECRET, "tok-7c1e9a2b5e", "not-the-key"):
        assert secret not in logged


def test_listing_triggers_needs_credentials(service):
    assert http("GET", f"{service.url}/triggers")[0] == 401
    assert http("GET", f"{service.url}/triggers", headers={"Authorization": "Bearer nope"})[0] == 401
    assert http("GET", f"{service.url}/healthz") == (200, "ok\n")


def test_the_service_refuses_to_start_without_credentials(tmp_path, target):
    with pytest.raises(RetrainError, match="bearer token"):
        RetrainService(_settings(tmp_path, token_file=None, hmac_secret_file=None), _catalog(target.url))
    with pytest.raises(RetrainError, match="cannot read the bearer token file"):
        RetrainService(_settings(tmp_path, hmac_secret_file=None), _catalog(target.url))


def test_alertmanager_with_the_token_alone_and_a_signer_with_the_signature_alone_both_get_in(service):
    body = json.dumps(am_notification(am_alert())).encode()
    signed = _signed(body)
    token_only = {k: v for k, v in signed.items() if not k.startswith("X-Modelmon")}
    signature_only = {k: v for k, v in signed.items() if k != "Authorization"}
    assert http("POST", f"{service.url}/alerts", body, token_only)[1]["outcomes"] == {"triggered": 1}
    assert http("POST", f"{service.url}/alerts", body, signature_only)[1]["outcomes"] == {"duplicate": 1}


def test_a_signed_request_cannot_be_replayed_on_another_endpoint_or_trigger(service, target):
    first = _post_alerts(service, am_alert())[1]["triggers"][0]
    wait_until(lambda: _triggers(service, "running"), 10, what="delivery")
    read = _signed(b"")
    read.pop("Authorization")  # the signature of a GET /triggers, captured
    url = f"{service.url}/triggers/{first}/complete"
    assert http("POST", url, b"", read)[0] == 400
    other = json.dumps({"trigger_id": "f" * 32, "status": "succeeded"}).encode()
    assert http("POST", url, other, _signed(other))[0] == 400  # another trigger's report
    assert _triggers(service, "running")[0]["id"] == first


@pytest.mark.parametrize(
    "body",
    [
        b'{"trigger_id": "ID", "status": []}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"trigger_id": "ID", "status": "done"}',
        b"",
    ],
)
def test_odd_completion_reports_get_a_400_not_a_dropped_connection(service, body):
    trigger = "a" * 32
    body = body.replace(b"ID", trigger.encode())
    status, answer = http("POST", f"{service.url}/triggers/{trigger}/complete", body, _signed(body))
    assert status == 400 and answer["reason"] == "malformed"


def test_deeply_nested_alerts_and_repeated_alerts_are_handled(service):
    nested = b'{"version": "4", "alerts": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    status, answer = _post_alerts(service, body=nested, headers=_signed(nested))
    assert status == 400 and answer["reason"] == "malformed"
    assert _post_alerts(service, am_alert(), am_alert())[1]["outcomes"] == {"triggered": 1}


def test_unknown_paths_share_one_metric_label(service):
    for path in ("/a", "/b", "/c/d"):
        assert http("GET", f"{service.url}{path}")[0] == 404
    assert _metric(service, 'modelmon_retrain_requests_total{code="404",endpoint="other"}') == 3


def test_health_reports_a_stopped_deliverer(service):
    assert http("GET", f"{service.url}/healthz")[0] == 200
    assert service.deliverer.stop()
    assert http("GET", f"{service.url}/healthz")[0] == 503


def test_an_alert_from_user_workload_monitoring_names_its_model_by_exported_namespace(service, target):
    alert = am_alert()
    alert["labels"] |= {"namespace": "modelmon", "exported_namespace": "demo"}
    assert _post_alerts(service, alert)[1]["outcomes"] == {"triggered": 1}
    wait_until(lambda: len(target.received) == 1, 10, what="delivery")
    assert target.received[0].json()["namespace"] == "demo"
