"""`make demo` end to end, shortened: drift appears after it is injected, not before."""

import pytest

from agent.settings import KafkaSettings
from deploy.config import Settings
from deploy.demo import DemoOptions, run_demo

pytestmark = pytest.mark.integration


def test_demo_shows_drift_only_after_injection(kafka_bootstrap, capsys):
    settings = Settings(kafka=KafkaSettings(bootstrap_servers=(kafka_bootstrap,)))
    options = DemoOptions(
        duration=24,
        drift_after=10,
        window_seconds=2,
        report_every=2,
        prometheus=False,
        metrics_port=0,
        rate=1000,
    )
    report = run_demo(options, settings)
    assert report.windows >= 5
    assert report.max_drift_share_before < 0.5 <= report.max_drift_share_after
    assert "metrics     http://127.0.0.1:" in capsys.readouterr().out
