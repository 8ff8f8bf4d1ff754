"""``modelmon report``: Evidently's drift report of an archived window against the model's reference.

Evidently warns about its own dependencies when imported and run; ``write_report`` mutes exactly that,
so these tests run under the suite's ``filterwarnings = error`` like any other: a warning of ours fails.
"""

import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from agent.catalog.load import load_catalog
from agent.wire.encode import build_prediction_batch, encode_message
from deploy.cli import main
from drift.adapters.archive import WindowArchive, list_windows
from drift.adapters.references import load_reference
from drift.adapters.report import ReportError, frame_from_profile, report_window, write_report
from drift.core.compute import compute_window
from drift.core.decode import DecodedBatch, decode_predictions
from drift.core.reference import build_reference
from drift.core.results import DriftStatus, WindowKey, WindowResult

START = 1_796_420_000_000_000  # 2026-12-04T21:33:20Z
MINUTE = 60_000_000
COLUMNS = ("income", "age", "region", "member", "score")


def catalog_text(reference: str) -> str:
    return f"""models:
  - namespace: bank
    name: credit
    versions: [v1]
    features:
      - {{name: income, type: float, drift_threshold: 0.2}}
      - {{name: age, type: int}}
      - {{name: region, type: category}}
      - {{name: member, type: bool}}
      - {{name: note, type: string}}
    outputs: [{{name: score, type: float, drift_statistic: wasserstein}}]
    drift: {{min_window_records: 10}}
    reference: {reference}
"""


def data(rows: int, seed: int, shift: float = 0.0) -> dict[str, list | np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "income": rng.normal(50_000 + shift * 20_000, 10_000, rows),
        "age": rng.integers(18, 80, rows),
        "region": rng.choice(["north", "south", "east"], rows, p=[0.5, 0.3, 0.2]).tolist(),
        "member": rng.random(rows) < 0.4,
        "note": ["free text"] * rows,
        "score": rng.random(rows),
    }


def archive_window(archive: WindowArchive, model, start_us: int, rows: int, seed: int, shift: float) -> None:
    values = data(rows, seed, shift)
    score = values.pop("score")
    batch = build_prediction_batch(
        model.identity,
        values,
        {"score": score},
        version="v1",
        event_times=(start_us + np.arange(rows) * 1000) / 1e6,
        spec=model,
    )
    message = encode_message(model.identity, batch)
    decoded = decode_predictions(message.key, message.value, message.headers)
    assert isinstance(decoded, DecodedBatch)
    result = WindowResult(
        WindowKey(model.identity, "v1", start_us), start_us + MINUTE, rows, 0, None, (), None, False
    )
    archive.publish(model, result, decoded.frame)


@pytest.fixture
def workspace(tmp_path):
    """A reference CSV, a catalog using it, and an archive with two windows (the later one drifted)."""
    pd.DataFrame(data(2000, seed=1)).to_csv(tmp_path / "train.csv", index=False)
    (tmp_path / "models.yaml").write_text(catalog_text("{path: train.csv}"))
    model = load_catalog(tmp_path / "models.yaml").models["bank/credit"]
    archive = WindowArchive(tmp_path / "archive")
    archive_window(archive, model, START, 300, seed=2, shift=0.0)
    archive_window(archive, model, START + MINUTE, 300, seed=3, shift=1.5)
    return tmp_path


def report(workspace, *extra: str, catalog: str = "models.yaml") -> tuple[int, str]:
    out = workspace / "out" / "report.html"
    code = main(
        [
            "report",
            "--catalog",
            str(workspace / catalog),
            "--archive",
            str(workspace / "archive"),
            "--model",
            "bank/credit",
            "--out",
            str(out),
            *extra,
        ]
    )
    return code, out.read_text(encoding="utf-8") if out.exists() else ""


def test_report_of_the_latest_window_against_training_data(workspace, capsys):
    code, html = report(workspace)
    assert code == 0
    assert "Drift" in html
    for column in COLUMNS:
        assert column in html
    out, err = capsys.readouterr()
    assert "bank/credit v1 all 20261204T213420Z, 300 rows against 2,000 reference rows" in out
    assert "Evidently: " in out and "column(s) drifted" in out
    assert "skipped note: string columns are not monitored for drift" in err


def test_report_against_a_profile_built_by_modelmon_reference_build(workspace, capsys):
    build_profile(workspace)
    code, html = report(workspace, "--window", "20261204T213320Z", catalog="profiled.yaml")
    assert code == 0
    assert "Drift" in html and all(column in html for column in COLUMNS)
    assert "profile: per-column distributions" in capsys.readouterr().out


def build_profile(workspace) -> None:
    args = ["--model", "bank/credit", "--data", str(workspace / "train.csv")]
    args += ["--catalog", str(workspace / "models.yaml"), "--out", str(workspace / "profile.parquet")]
    assert main(["reference", "build", *args]) == 0
    (workspace / "profiled.yaml").write_text(catalog_text("{path: profile.parquet}"))


@pytest.mark.parametrize("catalog", ["models.yaml", "profiled.yaml"])
def test_evidentlys_scores_and_drift_share_are_the_aggregators(workspace, catalog):
    build_profile(workspace)
    model = load_catalog(workspace / catalog).models["bank/credit"]
    reference = load_reference(model.reference_for("v1").path, model, "v1")
    # Per-column drift is what is compared: skip the multivariate scores (seconds, and not in the report).
    off = {name: False for name in ("multivariate", "domain_classifier") if hasattr(model.drift, name)}
    per_column = replace(model, drift=replace(model.drift, **off))
    for window in list_windows(workspace / "archive"):
        summary = report_window(model, window, workspace / "r.html")
        ours = compute_window(
            per_column,
            WindowKey(model.identity, "v1", window.start_us),
            window.end_us,
            window.read_frame(),
            reference,
        )
        scored = {c.column: c.score for c in ours.columns if c.status is DriftStatus.OK}
        assert set(summary.scores) == set(scored) == {"income", "age", "region", "member", "score"}
        for column, score in scored.items():
            assert summary.scores[column][1] == pytest.approx(score, rel=1e-9, abs=1e-12)
        assert summary.drift_share == pytest.approx(ours.drift_share)
        assert summary.dataset_drifted == ours.dataset_drifted
        assert summary.drifted_count == sum(c.drifted for c in ours.columns)


def test_profile_expands_to_the_same_per_column_distributions(workspace):
    model = load_catalog(workspace / "models.yaml").models["bank/credit"]
    training = pd.DataFrame(data(500, seed=4))
    training.loc[::7, "income"] = np.nan
    training.loc[::5, "region"] = None
    profile = build_reference(training, model)
    rebuilt = frame_from_profile(profile)
    assert len(rebuilt) == 500
    for name, column in profile.columns.items():
        assert build_reference(rebuilt, model).columns[name].counts.tolist() == column.counts.tolist()
        assert rebuilt[name].isna().sum() == training[name].isna().sum()


def test_listing_and_errors_exit_2_with_a_message(workspace, capsys):
    assert main(["report", "--list", "--archive", str(workspace / "archive")]) == 0
    out, _ = capsys.readouterr()
    assert out.count("bank/credit\tv1\tall\t") == 2 and "20261204T213320Z" in out

    code, _ = report(workspace, "--window", "2020-01-01T00:00:00Z")
    assert code == 2
    assert "no archived window of bank/credit" in capsys.readouterr().err

    assert main(["report", "--catalog", str(workspace / "models.yaml"), "--model", "bank/credit"]) == 2
    assert "no window archive" in capsys.readouterr().err

    code, _ = report(workspace, "--version", "v9")
    assert code == 2 and "no archived window of bank/credit v9" in capsys.readouterr().err


def test_a_missing_evidently_says_how_to_install_it(workspace, monkeypatch):
    model = load_catalog(workspace / "models.yaml").models["bank/credit"]
    [window, _] = list_windows(workspace / "archive")
    monkeypatch.setitem(sys.modules, "evidently", None)
    with pytest.raises(ReportError, match=r"pip install 'modelmon\[report\]'"):
        write_report(model, window.read_frame(), pd.read_csv(workspace / "train.csv"), workspace / "r.html")


def test_a_traffic_reference_is_taken_from_the_earliest_archived_windows(workspace, capsys):
    (workspace / "traffic.yaml").write_text(catalog_text("{from_traffic: 300}"))
    code, html = report(workspace, catalog="traffic.yaml")
    assert code == 0 and "Drift" in html
    assert "300 rows against 300 reference rows (the first 300 archived records)" in capsys.readouterr().out


def test_a_segments_window_is_compared_with_that_segment_of_the_reference(workspace, capsys):
    text = catalog_text("{path: train.csv}") + "    segments: [{column: region}]\n"
    (workspace / "segmented.yaml").write_text(text)
    model = load_catalog(workspace / "segmented.yaml").models["bank/credit"]
    [window, _] = list_windows(workspace / "archive")
    frame = window.read_frame()
    north = frame[frame["feature.region"] == "north"].reset_index(drop=True)
    result = WindowResult(
        WindowKey(model.identity, "v1", START, "region=north"),
        START + MINUTE,
        len(north),
        0,
        None,
        (),
        None,
        False,
    )
    WindowArchive(workspace / "archive").publish(model, result, north)
    code, html = report(workspace, "--segment", "region=north", catalog="segmented.yaml")
    assert code == 0 and "Drift" in html
    out = capsys.readouterr().out
    assert f"bank/credit v1 region=north 20261204T213320Z, {len(north)} rows against" in out
    reference = pd.read_csv(workspace / "train.csv")
    assert f"against {(reference['region'] == 'north').sum():,} reference rows" in out
    assert "segment region=north" in out
