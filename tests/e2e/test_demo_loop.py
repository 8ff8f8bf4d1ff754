"""`make demo` with Prometheus and Alertmanager installed closes the loop: drift → alert →
Alertmanager → retraining service → the demo's pipeline retrains and rolls out v2 → the alert resolves."""

from __future__ import annotations

import threading

import pytest

from agent.settings import KafkaSettings
from deploy.config import Settings
from deploy.demo import DemoOptions, DemoReport, run_demo

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(240)
def test_the_demo_retrains_after_drift_and_recovers(
    kafka_bootstrap, prometheus, alertmanager, capsys, tmp_path
):
    settings = Settings(kafka=KafkaSettings(bootstrap_servers=(kafka_bootstrap,)))
    options = DemoOptions(
        duration=150,
        drift_after=12,
        window_seconds=2,
        report_every=2,
        metrics_port=0,
        rate=1000,
        workdir=tmp_path,
        label_delay=2,
        html_report=False,
    )
    report = DemoReport()
    stop = threading.Event()

    def watch() -> None:  # end the demo as soon as the loop has closed
        while not stop.wait(0.5):
            if report.alert_resolved_after_rollout and report.accuracy_retrained is not None:
                stop.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    run_demo(options, settings, stop=stop, report=report)
    stop.set()
    watcher.join(5)
    out = capsys.readouterr().out
    assert report.alert_fired, out[-3000:]
    assert len(report.triggers) == 1, out[-3000:]  # one incident, one run
    assert report.rolled_out == "v2"
    assert report.alert_resolved_after_rollout, out[-3000:]
    assert "pipeline    rolled out v2" in out and "reported the run complete" in out
    # the retrained version is calibrated to the drifted world: its accuracy is back over the drifted v1's
    assert report.accuracy_retrained is not None and report.accuracy_after is not None
    assert report.accuracy_retrained > report.accuracy_after + 0.05, out[-3000:]
