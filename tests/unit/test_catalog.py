from pathlib import Path

import pytest

from agent.catalog import ColumnType, WindowKind, load_catalog, parse_catalog
from agent.catalog.statistics import KNOWN_STATISTICS
from agent.errors import CatalogError
from drift.core.statistics import STATISTICS

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "models.yaml"

VALID = """
models:
  - namespace: fraud
    name: scorer
    versions: [v1, v2]
    features: [{name: amount, type: float}, {name: country, type: category}]
    outputs: [{name: p, type: float}]
"""


def test_example_catalog_loads_with_every_section():
    catalog = load_catalog(EXAMPLE)
    model = catalog.get("demo/credit-risk")
    assert model is not None
    assert [c.name for c in model.features] == ["income", "age", "debt_ratio", "credit_lines", "region"]
    assert model.features[4].type is ColumnType.CATEGORY
    assert model.window.size_seconds == 10.0
    assert model.slos.latency_p99_seconds == pytest.approx(0.25)
    assert model.retraining is not None
    assert model.retraining.cooldown_seconds == 600
    reference = model.reference_for("v1")
    assert reference is not None
    assert reference.path == EXAMPLE.parent / "reference" / "credit-risk-v1.parquet"


def test_defaults_apply_and_model_overrides_win():
    catalog = parse_catalog(
        "defaults: {window: {size: 5m}}\n"
        + VALID.replace("    outputs:", "    window: {allowed_lateness: 30s}\n    outputs:")
    )
    window = catalog.models["fraud/scorer"].window
    assert window.size_seconds == 300.0
    assert window.allowed_lateness_seconds == 30.0


def test_sliding_and_count_windows_parse():
    sliding = parse_catalog(
        VALID.replace("    outputs:", "    window: {type: sliding, size: 10m, slide: 1m}\n    outputs:")
    )
    window = sliding.models["fraud/scorer"].window
    assert (window.kind, window.size_seconds, window.step_seconds) == (WindowKind.SLIDING, 600.0, 60.0)
    counted = parse_catalog(
        VALID.replace("    outputs:", "    window: {type: count, records: 500}\n    outputs:")
    )
    assert counted.models["fraud/scorer"].window.size_records == 500
    tumbling = parse_catalog(VALID).models["fraud/scorer"].window
    assert (tumbling.kind, tumbling.step_seconds) == (WindowKind.TUMBLING, tumbling.size_seconds)


def _problems(text: str) -> list[str]:
    with pytest.raises(CatalogError) as info:
        parse_catalog(text)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(
    ("change", "field", "found"),
    [
        (
            ("type: float}, {name: country", "type: floot}, {name: country"),
            "features[amount].type",
            "'floot'",
        ),
        (("versions: [v1, v2]", "versions: []"), "versions", "[]"),
        (("name: scorer", "name: Scorer_1"), "name", "'Scorer_1'"),
        (
            ("outputs: [{name: p, type: float}]", "outputs: [{name: amount, type: float}]"),
            "features/outputs[amount]",
            "'amount'",
        ),
        (("    outputs:", "    drift: {threshold: -1}\n    outputs:"), "drift.threshold", "-1"),
        (("    outputs:", "    window: {size: soon}\n    outputs:"), "window.size", "'soon'"),
        (("    outputs:", "    colour: red\n    outputs:"), "colour", "'colour'"),
        (("    outputs:", "    window: {type: hopping}\n    outputs:"), "window.type", "'hopping'"),
        (("    outputs:", "    window: {type: sliding}\n    outputs:"), "window.slide", "None"),
        (
            ("    outputs:", "    window: {type: sliding, size: 10m, slide: 3m}\n    outputs:"),
            "window.slide",
            "'3m'",
        ),
        (("    outputs:", "    window: {size: 10m, slide: 5m}\n    outputs:"), "window.slide", "'5m'"),
        (("    outputs:", "    window: {type: count}\n    outputs:"), "window.records", "None"),
        (("    outputs:", "    window: {type: count, records: 0}\n    outputs:"), "window.records", "0"),
        (("    outputs:", "    segments: [{column: amount}]\n    outputs:"), "segments[0].column", "amount"),
        (("    outputs:", "    retraining: {type: webhook}\n    outputs:"), "retraining.url", "None"),
        (("    outputs:", "    reference: {path: data.xlsx}\n    outputs:"), "reference.path", "'data.xlsx'"),
    ],
)
def test_invalid_catalog_names_model_field_expected_and_found(change, field, found):
    problems = _problems(VALID.replace(*change))
    assert any(
        "fraud/" in p and f"field '{field}'" in p and "expected" in p and found in p for p in problems
    ), problems


def test_every_problem_is_reported_at_once():
    text = VALID.replace("type: float}, {name: country", "type: floot}, {name: country").replace(
        "versions: [v1, v2]", "versions: 3"
    )
    assert len(_problems(text)) == 2


def test_duplicate_models_and_bad_documents():
    assert any("unique" in p for p in _problems(VALID + VALID.split("models:\n")[1]))
    assert any("valid YAML" in p for p in _problems("models: [unclosed"))
    assert any("non-empty list of models" in p for p in _problems("models: []"))
    with pytest.raises(CatalogError, match="readable file"):
        load_catalog(Path("/nonexistent/models.yaml"))


def test_catalog_statistic_names_match_the_drift_registry():
    assert set(STATISTICS) == set(KNOWN_STATISTICS)


QUALITY = VALID.replace(
    "    outputs: [{name: p, type: float}]",
    "    outputs: [{name: p, type: float}, {name: cls, type: category}]",
)


def test_quality_section_parses_and_names_its_problems():
    from agent.catalog import Task

    catalog = parse_catalog(
        QUALITY
        + "    quality: {task: classification, label: fraud, classes: [0, 1], scores: {'1': p}, label_lateness: 2d}\n"
    )
    quality = catalog.models["fraud/scorer"].quality
    assert quality is not None and quality.task is Task.CLASSIFICATION
    assert (quality.classes, quality.positive_class, quality.label_lateness_seconds) == (
        ("0", "1"),
        "1",
        172_800.0,
    )
    problems = _problems(
        QUALITY + "    quality: {task: classification, label: y, classes: [a, b, c], scores: {a: nope}}\n"
    )
    assert any("quality.scores[a]" in p and "'nope'" in p for p in problems), problems
    assert any("quality.prediction" in p for p in problems), problems  # three classes, one score
    problems = _problems(QUALITY + "    quality: {task: regression, label: y}\n")
    assert any("quality.prediction" in p for p in problems), problems
