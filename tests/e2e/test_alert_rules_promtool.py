"""The generated rules and their generated unit tests, on the real promtool (and amtool)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from agent.catalog import parse_catalog
from agent.catalog.load import load_catalog
from alerts import AlertSettings, generate
from tests.conftest import need_binary

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]

MORE_MODELS = """
defaults:
  window: {size: 5m, type: sliding, slide: 1m}
  drift: {consecutive_windows: 3, dataset_drift_share: 0.3}
models:
  - namespace: shop
    name: ranker
    versions: ["*"]
    features: [{name: x, type: float}, {name: y, type: float, critical: true}]
    outputs: [{name: p, type: float, critical: true}]
    slos: {latency_p99: 1s, error_ratio: 0.001}
  - namespace: shop
    name: price
    versions: [v7]
    features: [{name: sku, type: category}]
    outputs: [{name: price, type: float}]
    quality: {task: regression, label: paid, prediction: price}
    slos: {accuracy_min: 0.9}
"""


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("alerts")
    catalog = load_catalog(ROOT / "examples" / "models.yaml")
    more = parse_catalog(MORE_MODELS)
    merged = type(catalog)(models=catalog.models | more.models)
    generate(merged, out, AlertSettings(drift_clear_ratio=0.5, rule_labels={"release": "prom"}))
    return out


def test_promtool_checks_every_rule_file_and_every_prometheusrule_spec(generated, promtool, tmp_path):
    rules = sorted((generated / "rules").glob("*.rules.yml"))
    assert len(rules) == 4  # fleet, demo/credit-risk, shop/price, shop/ranker
    checked = _run(promtool, "check", "rules", *map(str, rules))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    specs = []
    for resource in sorted((generated / "prometheusrules").glob("*.yaml")):
        doc = yaml.safe_load(resource.read_text())
        assert doc["apiVersion"] == "monitoring.coreos.com/v1" and doc["kind"] == "PrometheusRule"
        assert doc["metadata"]["labels"]["release"] == "prom"
        spec = tmp_path / resource.name
        spec.write_text(yaml.safe_dump(doc["spec"]))
        specs.append(str(spec))
    checked = _run(promtool, "check", "rules", *specs)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_generated_unit_tests_pass_on_promtool(generated, promtool):
    tests = sorted((generated / "rules").glob("*.test.yml"))
    assert len(tests) == 4
    result = _run(promtool, "test", "rules", *map(str, tests))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == 4


def test_the_generated_unit_tests_catch_a_broken_rule(generated, promtool, tmp_path):
    """Drop the drift rule's hysteresis: its test must fail (so the tests can fail)."""
    copy = tmp_path / "rules"
    shutil.copytree(generated / "rules", copy)
    rules = copy / "demo-credit-risk.rules.yml"
    doc = yaml.safe_load(rules.read_text())
    (drift,) = [r for r in doc["groups"][0]["rules"] if r["alert"] == "ModelmonDatasetDrift"]
    drift["expr"] = drift["expr"].replace('alertstate="firing"', 'alertstate="never"')
    rules.write_text(yaml.safe_dump(doc))
    result = _run(promtool, "test", "rules", str(copy / "demo-credit-risk.test.yml"))
    assert result.returncode != 0
    assert "holds above the clear level" in result.stdout + result.stderr


def test_the_generated_alertmanager_config_is_valid(generated):
    amtool = need_binary("amtool", shutil.which("amtool"))
    result = _run(amtool, "check-config", str(generated / "alertmanager" / "alertmanager.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    route = yaml.safe_load((generated / "alertmanager" / "retrain-route.yml").read_text())
    assert route["route"]["matchers"] == ['modelmon_action="retrain"']
    assert route["receiver"]["webhook_configs"][0]["url"].endswith("/alerts")


def test_the_rules_for_user_workload_monitoring_pass_their_own_tests(promtool, tmp_path):
    """OpenShift's user-workload Prometheus moves the model's namespace to exported_namespace: the
    relabelled rules and their relabelled cases, on the real promtool."""
    catalog = load_catalog(ROOT / "examples" / "models.yaml")
    merged = type(catalog)(models=catalog.models | parse_catalog(MORE_MODELS).models)
    generate(merged, tmp_path, AlertSettings(namespace_label="exported_namespace"))
    rules = sorted((tmp_path / "rules").glob("*.rules.yml"))
    assert [p.name for p in rules if p.name.endswith("-agents.rules.yml")] == [
        "demo-credit-risk-agents.rules.yml", "shop-price-agents.rules.yml", "shop-ranker-agents.rules.yml",
    ]  # fmt: skip
    checked = _run(promtool, "check", "rules", *map(str, rules))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = _run(promtool, "test", "rules", *map(str, sorted((tmp_path / "rules").glob("*.test.yml"))))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.count("SUCCESS") == 7
