"""Alert rules generated from the catalog: which rules, their labels and links, and same bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.catalog import parse_catalog
from agent.catalog.links import model_dashboard_uid
from agent.catalog.load import load_catalog
from alerts import AlertSettings, catalog_groups, generate, model_group
from alerts.burn_rate import latency_burn_rate
from alerts.context import ModelContext
from alerts.rule import Text, duration
from dashboards.model_dashboard import model_uid

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "models.yaml"
GOLDEN = ROOT / "tests" / "golden" / "alerts"

BARE = """
models:
  - namespace: shop
    name: ranker
    features: [{name: x, type: float}]
"""


def _rules(text: str, settings: AlertSettings | None = None) -> dict[str, list]:
    (model,) = parse_catalog(text)
    group = model_group(model, settings or AlertSettings())
    found: dict[str, list] = {}
    for rule in group.rules:
        found.setdefault(rule.alert, []).append(rule)
    return found


def test_generation_is_byte_for_byte_stable_and_matches_the_golden_files(tmp_path):
    first = generate(load_catalog(EXAMPLE), tmp_path / "a")
    second = generate(load_catalog(EXAMPLE), tmp_path / "b")
    assert [p.relative_to(tmp_path / "a") for p in first] == [p.relative_to(tmp_path / "b") for p in second]
    for a in first:
        relative = a.relative_to(tmp_path / "a")
        assert a.read_bytes() == (tmp_path / "b" / relative).read_bytes(), relative
        golden = GOLDEN / relative
        assert golden.exists(), (
            f"{relative} is new: regenerate with `modelmon alerts generate --catalog examples/models.yaml --out tests/golden/alerts`"
        )
        assert a.read_text() == golden.read_text(), (
            f"{relative} changed: review it, then regenerate the golden files (see the assertion above)"
        )


def test_a_model_with_every_slo_gets_every_alert_with_labels_and_links():
    rules = _rules(EXAMPLE.read_text())
    assert set(rules) == {
        "ModelmonDatasetDrift",
        "ModelmonCriticalFeatureDrift",
        "ModelmonAccuracyBelowFloor",
        "ModelmonEstimatedAccuracyBelowFloor",
        "ModelmonLatencyBudgetBurn",
        "ModelmonErrorRatioHigh",
        "ModelmonNoRecentWindows",
        "ModelmonAgentDown",
        "ModelmonModelNotReady",
        "ModelmonAgentSpoolFilling",
        "ModelmonGpuMemoryPressure",
    }
    assert [r.severity for r in rules["ModelmonLatencyBudgetBurn"]] == ["critical", "warning"]
    for name, group in rules.items():
        assert any(r.cases for r in group), f"{name} has no promtool case"
        for rule in group:
            rendered = rule.to_prometheus()
            assert rendered["labels"]["severity"] in ("critical", "warning")
            assert set(rendered["annotations"]) == {"summary", "description", "runbook_url", "dashboard_url"}
            assert rendered["annotations"]["runbook_url"].endswith(f"#{name.lower()}")
            assert 'namespace="demo", model="credit-risk"' in rendered["expr"]
    retrain = {name for name, group in rules.items() if group[0].labels.get("modelmon_action") == "retrain"}
    assert retrain == {"ModelmonDatasetDrift", "ModelmonCriticalFeatureDrift", "ModelmonAccuracyBelowFloor"}


def test_each_alert_has_a_firing_and_a_quiet_case():
    for group in catalog_groups(load_catalog(EXAMPLE), AlertSettings()):
        names = {rule.alert for rule in group.rules}
        for name in names:
            cases = [case for rule in group.rules if rule.alert == name for case in rule.cases]
            checks = [check for case in cases for check in case.checks]
            assert any(check.alerts for check in checks), f"{name}: no firing check"
            assert any(not check.alerts for check in checks), f"{name}: no quiet check"


def test_rules_follow_the_catalog():
    rules = _rules(BARE)
    # no SLOs, no labels, no critical column: only the rules every model gets
    assert set(rules) == {
        "ModelmonDatasetDrift",
        "ModelmonNoRecentWindows",
        "ModelmonAgentDown",
        "ModelmonModelNotReady",
        "ModelmonAgentSpoolFilling",
        "ModelmonGpuMemoryPressure",
    }
    (drift,) = rules["ModelmonDatasetDrift"]
    assert drift.for_seconds == 60.0  # one window of the default 60 s
    assert (
        ">= 0.5\n  or\n" in drift.expr and ">= 0.4 and on (namespace, model, version) ALERTS{" in drift.expr
    )
    assert drift.expr.endswith('segment=""} < 280)')  # fresh: 2 windows, lateness, idle close, 2 scrapes
    cleared = _rules(BARE, AlertSettings(drift_clear_ratio=0.5))["ModelmonDatasetDrift"][0]
    assert ">= 0.25 and on" in cleared.expr


def test_the_dashboard_link_opens_the_dashboard_generated_from_the_same_catalog():
    (model,) = load_catalog(EXAMPLE)
    settings = AlertSettings(grafana_url="https://grafana.example.com/")
    rule = model_group(model, settings).rules[0]
    assert rule.links["dashboard_url"] == f"https://grafana.example.com/d/{model_uid(model)}"
    assert model_uid(model) == model_dashboard_uid(model)


def test_the_latency_slo_uses_the_smallest_bucket_at_or_over_it():
    text = BARE.replace("features:", "slos: {latency_p99: 300ms}\n    features:")
    (model,) = parse_catalog(text)
    critical, warning = latency_burn_rate(ModelContext(model, AlertSettings()))
    assert 'le="0.5"' in critical.expr and "> 0.144" in critical.expr and "> 0.06" in critical.expr
    assert "> 0.03" in warning.expr and "> 0.01" in warning.expr and "[3d]" in warning.expr
    over = parse_catalog(BARE.replace("features:", "slos: {latency_p99: 60s}\n    features:"))
    with pytest.raises(ValueError, match="largest bucket"):
        latency_burn_rate(ModelContext(next(iter(over)), AlertSettings()))


def test_settings_refuse_nonsense_ratios():
    with pytest.raises(ValueError, match="drift_clear_ratio"):
        AlertSettings(drift_clear_ratio=1.5)
    with pytest.raises(ValueError, match="spool"):
        AlertSettings(spool_warning_ratio=0.9, spool_critical_ratio=0.5)


def test_annotations_render_as_go_templates_and_expand_like_prometheus():
    text = Text("{feature} of {namespace}/{model} at {value}")
    assert (
        text.go()
        == '{{ $labels.feature }} of {{ $labels.namespace }}/{{ $labels.model }} at {{ printf "%.3g" $value }}'
    )
    assert text.expand({"feature": "x", "namespace": "a", "model": "b"}, 0.123456) == "x of a/b at 0.123"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (20, "20s"), (90, "1m30s"), (3600, "1h"), (86_400 * 3, "3d"), (0.25, "250ms")],
)
def test_durations_are_written_as_prometheus_reads_them(seconds, text):
    assert duration(seconds) == text


def test_for_user_workload_monitoring_rules_and_cases_are_relabelled_alike():
    from alerts import model_groups

    (model,) = parse_catalog(BARE)
    aggregated, agents = model_groups(
        model, AlertSettings(namespace_label="exported_namespace", namespace="mon")
    )
    assert (aggregated.namespace, agents.namespace) == ("mon", "shop")
    drift = next(r for r in aggregated.rules if r.alert == "ModelmonDatasetDrift")
    assert (
        'namespace="mon", exported_namespace="shop"' in drift.expr
        and "on (namespace, exported_namespace, model" in drift.expr
    )
    assert drift.summary.template.startswith("Data drift on {exported_namespace}/{model}")
    series = drift.cases[0].series[0]
    assert series.labels["namespace"] == "mon" and series.labels["exported_namespace"] == "shop"
    labels, _, _ = drift.cases[0].checks[0].alerts[0]
    assert labels["namespace"] == "mon" and labels["exported_namespace"] == "shop"
    assert {r.alert for r in agents.rules} == {
        "ModelmonAgentDown",
        "ModelmonModelNotReady",
        "ModelmonAgentSpoolFilling",
    }
    assert all("exported_namespace" not in r.expr for r in agents.rules)
    with pytest.raises(ValueError, match="namespace_label"):
        AlertSettings(namespace_label="ns")
