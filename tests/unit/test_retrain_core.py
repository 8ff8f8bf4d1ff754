"""The retraining service's core without HTTP: parsing, authentication, the outbox's decisions, backoff."""

from __future__ import annotations

import json

import pytest

from alerts.retrain import (
    Authenticator,
    AuthError,
    Outbox,
    PayloadError,
    RetrainError,
    RetrainSettings,
    parse_notification,
)
from alerts.retrain.evidence import build_evidence
from alerts.retrain.targets import sign
from alerts.retrain.trigger import Trigger, TriggerState
from alerts.retrain.worker import backoff_seconds
from tests.retrain_support import am_alert, am_notification


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _body(*alerts) -> bytes:
    return json.dumps(am_notification(*alerts)).encode()


# --- parsing ----------------------------------------------------------------------------------------
def test_a_version_4_notification_parses():
    notification = parse_notification(_body(am_alert(), am_alert(status="resolved", fingerprint="ff")))
    assert notification.status == "firing" and notification.group_key.startswith("{}")
    firing, resolved = notification.alerts
    assert firing.name == "ModelmonDatasetDrift" and firing.ends_at is None
    assert firing.incident == ("a1b2c3d4e5f60718", 1_796_464_800.0)
    assert resolved.status == "resolved" and resolved.ends_at == 1_796_466_600.0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "JSON object"),
        (json.dumps(am_notification(am_alert()) | {"version": "3"}).encode(), "version"),
        (json.dumps(am_notification(am_alert()) | {"groupKey": ""}).encode(), "groupKey"),
        (json.dumps(am_notification(am_alert()) | {"alerts": {}}).encode(), "alerts must be a list"),
        (_body(am_alert() | {"fingerprint": "NOT HEX"}), "fingerprint"),
        (_body(am_alert() | {"startsAt": "yesterday"}), "startsAt"),
        (_body(am_alert() | {"labels": {"namespace": "x"}}), "alertname"),
        (_body(am_alert() | {"labels": {"alertname": 5}}), "labels"),
        (_body(am_alert() | {"status": "pending"}), "status"),
        ("é".encode("latin-1"), "not JSON"),
    ],
)
def test_malformed_notifications_say_what_is_wrong(body, message):
    with pytest.raises(PayloadError, match=message) as caught:
        parse_notification(body)
    assert caught.value.status == 400


# --- authentication ---------------------------------------------------------------------------------
def test_either_configured_credential_passes_and_any_wrong_one_fails():
    clock = Clock()
    auth = Authenticator(token=b"t0ken", hmac_secret=b"k3y", tolerance_seconds=60, clock=clock)
    body = b'{"x": 1}'
    stamp = str(int(clock.now))
    bearer = {"Authorization": "Bearer t0ken"}
    signed = {"X-Modelmon-Timestamp": stamp, "X-Modelmon-Signature": sign(b"k3y", int(stamp), body)}
    auth.check(bearer, body)  # Alertmanager: the token alone
    auth.check(signed, body)  # a signing caller: the signature alone
    auth.check(bearer | signed, body)
    cases = {
        "missing_token": {},
        "wrong_token": signed | {"Authorization": "Bearer t0keN"},  # a good signature does not excuse it
        "bad_signature": bearer | {"X-Modelmon-Signature": sign(b"other", int(stamp), body)},
    }
    for reason, headers in cases.items():
        with pytest.raises(AuthError) as caught:
            auth.check(headers, body)
        assert caught.value.reason == reason and caught.value.status == 401
    with pytest.raises(AuthError) as caught:
        auth.check(signed, body + b" ")
    assert caught.value.reason == "bad_signature"
    clock.now += 61
    with pytest.raises(AuthError) as caught:
        auth.check(signed, body)
    assert caught.value.reason == "stale_timestamp"
    token_only = Authenticator(token=b"t0ken", clock=clock)
    with pytest.raises(AuthError, match="send a bearer token") as caught:
        token_only.check(signed, body)  # a signature is no credential where none is configured
    assert caught.value.reason == "missing_token"


def test_an_authenticator_without_credentials_is_refused():
    with pytest.raises(RetrainError, match="bearer token, an HMAC secret"):
        Authenticator(clock=Clock())


# --- the outbox -------------------------------------------------------------------------------------
def _alerts(*alerts):
    return parse_notification(_body(*alerts)).alerts


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outbox(tmp_path, clock):
    box = Outbox(tmp_path / "retrain.db", clock=clock)
    yield box
    box.close()


def _record(outbox, alerts, cooldown=600.0, run_timeout=3600.0):
    return outbox.record(
        "demo",
        "credit-risk",
        alerts,
        group_key="g",
        cooldown_seconds=cooldown,
        run_timeout_seconds=run_timeout,
    )


def test_one_incident_triggers_once_and_repeats_are_duplicates(outbox):
    first = _record(outbox, _alerts(am_alert()))
    assert first.outcome == "triggered" and first.trigger_id
    assert _record(outbox, _alerts(am_alert())).outcome == "duplicate"
    (trigger,) = outbox.due()
    assert (
        trigger.id == first.trigger_id
        and trigger.reason == "ModelmonDatasetDrift"
        and trigger.version == "v1"
    )
    assert trigger.attempt == 1
    assert outbox.state_counts()[TriggerState.PENDING] == 1


def test_a_new_incident_waits_while_a_run_is_in_flight_then_for_the_cooldown(outbox, clock):
    first = _record(outbox, _alerts(am_alert()), cooldown=600, run_timeout=3600)
    second = _record(outbox, _alerts(am_alert(fingerprint="bb")), cooldown=600, run_timeout=3600)
    assert (second.outcome, second.trigger_id) == ("in_flight", first.trigger_id)
    outbox.delivered(first.trigger_id, "run-1")
    clock.now += 100
    assert _record(outbox, _alerts(am_alert(fingerprint="cc"))).outcome == "in_flight"  # running
    assert outbox.finish(first.trigger_id)
    assert _record(outbox, _alerts(am_alert(fingerprint="dd"))).outcome == "cooldown"
    clock.now += 600
    assert _record(outbox, _alerts(am_alert(fingerprint="ee"))).outcome == "triggered"
    assert outbox.incident_counts() == {"triggered": 2, "in_flight": 2, "cooldown": 1}


def test_a_run_that_never_reports_back_stops_counting_as_in_flight(outbox, clock):
    first = _record(outbox, _alerts(am_alert()), cooldown=0, run_timeout=3600)
    outbox.delivered(first.trigger_id, None)
    clock.now += 3601
    assert outbox.expire_runs(3600) == 1
    assert outbox.triggers()[0]["state"] == "timed_out"
    assert _record(outbox, _alerts(am_alert(fingerprint="bb")), cooldown=0).outcome == "triggered"


def test_a_failed_trigger_does_not_hold_the_cooldown(outbox):
    first = _record(outbox, _alerts(am_alert()))
    outbox.failed(first.trigger_id, "refused")
    assert _record(outbox, _alerts(am_alert(fingerprint="bb"))).outcome == "triggered"


def test_the_outbox_survives_a_restart_with_its_retry_schedule(tmp_path, clock):
    box = Outbox(tmp_path / "retrain.db", clock=clock)
    trigger_id = _record(box, _alerts(am_alert())).trigger_id
    box.retry(trigger_id, "connection refused", clock.now + 30)
    box.close()
    again = Outbox(tmp_path / "retrain.db", clock=clock)
    try:
        assert again.due() == []  # not before its next attempt
        clock.now += 30
        (trigger,) = again.due()
        assert trigger.id == trigger_id and trigger.attempt == 2
        assert again.triggers()[0]["last_error"] == "connection refused"
        assert _record(again, _alerts(am_alert())).outcome == "duplicate"
        assert again.path.with_name("retrain.db-wal").exists()  # WAL mode
    finally:
        again.close()


def test_an_alert_listed_twice_counts_once_and_a_new_start_of_an_unresolved_series_is_no_new_incident(outbox):
    assert _record(outbox, _alerts(am_alert(), am_alert())).new_alerts == 1
    # an HA pair of Prometheus servers, or a restart that lost the ``for`` state: same series, new startsAt
    later = am_alert(starts_at="2026-12-05T10:07:00Z")
    assert _record(outbox, _alerts(later), cooldown=0).outcome == "duplicate"
    outbox.resolved(_alerts(am_alert(status="resolved")))
    assert _record(outbox, _alerts(later), cooldown=0).outcome == "in_flight"  # a new incident


def test_resolved_notices_mark_known_incidents(outbox):
    _record(outbox, _alerts(am_alert()))
    assert outbox.resolved(_alerts(am_alert(status="resolved"))) == 1
    assert outbox.resolved(_alerts(am_alert(status="resolved", fingerprint="99"))) == 0


# --- delivery schedule and evidence -----------------------------------------------------------------
def test_backoff_doubles_to_a_cap_with_equal_jitter():
    settings = RetrainSettings(backoff_initial_seconds=2, backoff_max_seconds=60)
    assert [backoff_seconds(n, settings, lambda: 0.0) for n in (1, 2, 3, 6, 9)] == [1, 2, 4, 30, 30]
    assert [backoff_seconds(n, settings, lambda: 0.999999) for n in (1, 2)] == pytest.approx([2, 4])


def test_evidence_carries_alerts_drifted_features_metrics_and_links():
    trigger = Trigger("ab" * 16, "demo", "credit-risk", "v1", 1_796_464_800.0, "ModelmonDatasetDrift")
    alerts = [a.to_json() for a in _alerts(am_alert())]

    def query(promql: str):
        def sample(value, **labels):
            return {"metric": labels, "value": [0, str(value)]}

        if "feature_drift_detected" in promql:
            return [sample(1, feature="income", role="input", statistic="wasserstein")]
        if "feature_drift_threshold" in promql:
            return [
                sample(0.1, feature="income", role="input", statistic="wasserstein"),
                sample(0.1, feature="age", role="input", statistic="wasserstein"),
            ]
        if "feature_drift_score" in promql:
            return [
                sample(0.42, feature="income", role="input", statistic="wasserstein"),
                sample(0.01, feature="age", role="input", statistic="wasserstein"),
            ]
        if "window_end" in promql:
            return [sample(1_796_464_790)]
        if "dataset_drift_share" in promql:
            return [sample(0.6)]
        if "quality_estimate" in promql:
            return [sample("NaN")]
        if "error_ratio" in promql:
            raise OSError("connection refused")
        return []

    evidence = build_evidence(
        trigger, alerts, None, query=query, report_url="https://reports/{namespace}/{model}/{version}"
    )
    assert evidence["drifted_features"] == [
        {"feature": "income", "role": "input", "statistic": "wasserstein", "score": 0.42, "threshold": 0.1}
    ]
    assert evidence["metrics"]["dataset_drift_share"] == 0.6
    assert evidence["metrics"]["estimated_accuracy"] is None  # NaN: JSON cannot carry it
    assert evidence["window"]["end"] == "2026-12-05T09:59:50.000Z"
    assert evidence["links"] == {
        "dashboard": "http://grafana/d/x",
        "runbook": "http://rb",
        "alert": "http://prometheus/graph?g0.expr=x",
        "report": "https://reports/demo/credit-risk/v1",
    }
    assert len(evidence["errors"]) == 1 and "connection refused" in evidence["errors"][0]
    json.dumps(evidence, allow_nan=False)
    without = build_evidence(trigger, alerts, None)
    assert (
        without["alerts"] == alerts and without["metrics"] == {} and "no Prometheus" in without["errors"][0]
    )
