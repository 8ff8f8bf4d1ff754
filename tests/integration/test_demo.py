"""`make demo` end to end, shortened: drift appears after it is injected, not before."""

import pytest
import yaml

from agent.settings import KafkaSettings
from deploy.config import Settings
from deploy.demo import DemoOptions, run_demo

pytestmark = pytest.mark.integration


def test_demo_shows_drift_only_after_injection(kafka_bootstrap, capsys, tmp_path):
    settings = Settings(kafka=KafkaSettings(bootstrap_servers=(kafka_bootstrap,)))
    options = DemoOptions(
        duration=24,
        drift_after=10,
        window_seconds=2,
        report_every=2,
        prometheus=False,
        metrics_port=0,
        rate=1000,
        workdir=tmp_path,
        label_delay=2,
    )
    report = run_demo(options, settings)
    assert report.windows >= 5
    assert report.max_drift_share_before < 0.5 <= report.max_drift_share_after
    # labels joined: the realized accuracy drops after the drift (the world changed, the model did not)
    assert report.labels_sent > 0 and report.accuracy_before is not None and report.accuracy_after is not None
    assert report.accuracy_before > report.accuracy_after + 0.1
    # before the drift the model is calibrated: on one window with most of its labels, CBPE's
    # estimate is close to the realized accuracy (about 2,000 predictions: a standard error near 0.01)
    assert report.estimated_before is not None
    assert report.estimate_gap_before is not None and report.estimate_gap_before < 0.05
    assert report.multivariate_alarms_before == 0  # the PCA band and the classifier stay quiet
    assert report.segments >= 4 * 3  # one window per region, per closed window
    html = report.report_path.read_text() if report.report_path else ""
    assert all(name in html for name in ("income", "debt_ratio", "region", "Drift"))
    assert list((tmp_path / "archive" / "demo" / "credit-risk" / "v1").iterdir())
    assert "metrics     http://127.0.0.1:" in capsys.readouterr().out
    # the injector's answer for the demo model's pod: the agent as a native sidecar, the port moved
    injected = yaml.safe_load((tmp_path / "injector" / "pod-injected.yaml").read_text())
    (agent,) = injected["spec"]["initContainers"]
    assert agent["name"] == "modelmon-agent" and agent["restartPolicy"] == "Always"
    assert agent["ports"][0]["name"] == "http" and "name" not in injected["spec"]["containers"][0]["ports"][0]
