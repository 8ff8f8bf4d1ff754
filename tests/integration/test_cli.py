"""The aggregator as a real process: `modelmon aggregator run`, configured by env, stopped by SIGTERM."""

import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from agent.publisher import Publisher
from agent.sdk import log_predictions
from deploy.processes import free_port
from tests.helpers import aggregator_process, wait_until

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "models.yaml"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``modelmon`` (as ``python -m deploy.cli``) to completion, capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "deploy.cli", *args], capture_output=True, text=True, check=False
    )


def test_catalog_check_reports_problems_and_exit_codes(tmp_path):
    ok = _cli("catalog", "check", str(EXAMPLE))
    assert ok.returncode == 0 and "demo/credit-risk" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [{namespace: a, name: b, features: [{name: x, type: floot}]}]")
    failed = _cli("catalog", "check", str(bad))
    assert failed.returncode == 2
    assert "model a/b, field 'features[x].type'" in failed.stderr


def test_aggregator_process_serves_metrics_and_stops_cleanly(kafka, kafka_bootstrap, new_topic, tmp_path):
    topic = new_topic(partitions=2)
    port = free_port()
    (tmp_path / "settings.yaml").write_text(
        f"aggregator: {{topic: {topic}, labels_topic: {topic}.labels, session_timeout_ms: 6000, heartbeat_interval_ms: 1000,"
        f" idle_advance_seconds: 1, metrics_host: 127.0.0.1}}\n"
    )
    process = aggregator_process(tmp_path / "settings.yaml", EXAMPLE, kafka_bootstrap, port, f"cli-{topic}")
    published = False
    try:
        rng = np.random.default_rng(0)
        from dataclasses import replace

        from agent.settings import PublisherSettings

        with Publisher(kafka, replace(PublisherSettings(), topic=topic)) as publisher:
            log_predictions(
                publisher,
                "demo/credit-risk",
                {"income": rng.normal(40_000, 5_000, 50)},
                version="v1",
                event_times=np.full(50, 1_700_000_000.0),
            )
            assert publisher.flush(30)

        def windows_closed() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
                text = response.read().decode()
            return (
                'modelmon_window_records{model="credit-risk",namespace="demo",segment="",version="v1"} 50.0'
                in text
            )

        wait_until(windows_closed, 60, what="the process to publish the window")
        published = True
    except TimeoutError:
        published = False
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert published, output[-3000:]
    assert process.returncode == 0, output[-3000:]


def test_reference_build_writes_a_profile_the_aggregator_loads(tmp_path):
    from agent.catalog.load import load_catalog
    from deploy.demo_data import demo_reference
    from drift.adapters.references import ReferenceCache

    data = tmp_path / "train.csv"
    demo_reference(rows=2_000).to_csv(data, index=False)
    out = tmp_path / "profile.parquet"
    built = _cli(
        "reference",
        "build",
        "--catalog",
        str(EXAMPLE),
        "--model",
        "demo/credit-risk",
        "--version",
        "v1",
        "--data",
        str(data),
        "--out",
        str(out),
    )
    assert built.returncode == 0, built.stderr
    assert "2,000 rows" in built.stdout and "100%" in built.stderr  # the progress bar finished
    catalog_path = tmp_path / "models.yaml"
    catalog_path.write_text(EXAMPLE.read_text().replace("reference/credit-risk-v1.parquet", str(out)))
    model = load_catalog(catalog_path).models["demo/credit-risk"]
    profile = ReferenceCache().get(model, "v1")
    assert profile is not None and profile.rows == 2_000 and profile.source == str(data)
    assert set(profile.columns) == {"income", "age", "debt_ratio", "credit_lines", "region", "score"}
    missing = _cli(
        "reference",
        "build",
        "--catalog",
        str(EXAMPLE),
        "--model",
        "demo/credit-risk",
        "--data",
        str(tmp_path / "absent.csv"),
        "--out",
        str(out),
    )
    assert missing.returncode == 2 and "cannot read reference" in missing.stderr


def test_alerts_generate_writes_the_golden_files_with_the_given_links_and_labels(tmp_path):
    done = _cli("alerts", "generate", "--catalog", str(EXAMPLE), "--out", str(tmp_path / "a"))
    assert done.returncode == 0, done.stderr
    assert "promtool test rules" in done.stdout
    golden = EXAMPLE.parents[1] / "tests" / "golden" / "alerts"
    for path in golden.rglob("*.y*ml"):
        assert (tmp_path / "a" / path.relative_to(golden)).read_text() == path.read_text(), path
    custom = _cli(
        "alerts", "generate", "--catalog", str(EXAMPLE), "--out", str(tmp_path / "b"),
        "--grafana-url", "https://grafana.example.com", "--rule-label", "release=prom", "--namespace", "mon",
    )  # fmt: skip
    assert custom.returncode == 0, custom.stderr
    resource = (tmp_path / "b" / "prometheusrules" / "modelmon-fleet.yaml").read_text()
    assert "release: prom" in resource and "namespace: mon" in resource
    assert (
        "https://grafana.example.com/d/"
        in (tmp_path / "b" / "rules" / "demo-credit-risk.rules.yml").read_text()
    )
    assert (
        _cli(
            "alerts", "generate", "--catalog", str(EXAMPLE), "--out", str(tmp_path), "--rule-label", "x"
        ).returncode
        != 0
    )


def test_retrain_serve_refuses_to_start_without_credentials(tmp_path):
    failed = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "retrain", "serve", "--catalog", str(EXAMPLE)],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "MODELMON_RETRAIN_DB": str(tmp_path / "r.db")},
        timeout=60,
    )
    assert failed.returncode == 2
    assert (
        "needs a bearer token, an HMAC secret, or both" in failed.stderr and "Traceback" not in failed.stderr
    )
