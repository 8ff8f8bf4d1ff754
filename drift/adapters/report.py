"""Evidently HTML reports of archived windows: ``modelmon report`` (needs ``pip install 'modelmon[report]'``).

A report runs Evidently 0.7's ``DataDriftPreset`` over one window's rows (from the window archive,
see :mod:`drift.adapters.archive`) against the model version's reference, with the catalog's column
types, statistics, thresholds and dataset drift share, so Evidently judges each column the way the
aggregator did (except for the multiple-testing correction, which Evidently does not apply).

The reference comes from the catalog: training data (CSV or Parquet) is read as it is; a profile
written by ``modelmon reference build`` is expanded back into rows from each column's distinct
values and counts (exact per-column distributions, no joint distribution: what Evidently's
per-column drift tests use); ``from_traffic: N`` takes the first N archived rows of the version. A
segment's window is compared with the reference's rows of that segment.

Evidently is imported only when a report is written: the aggregator never loads it.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from agent.catalog.model import ModelSpec
from agent.wire.format import FEATURE_PREFIX, OUTPUT_PREFIX
from drift.adapters.archive import ALL_SEGMENTS, ArchivedWindow, list_windows
from drift.adapters.references import is_profile_file, read_reference_frame
from drift.core.errors import DriftError, ReferenceDataError
from drift.core.reference import ReferenceProfile, build_reference, column_kind, reference_from_table
from drift.core.statistics import AUTO, ColumnKind

__all__ = [
    "ReportError",
    "ReportSummary",
    "frame_from_profile",
    "reference_frame_for",
    "report_window",
    "write_report",
]

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'modelmon[report]'"


class ReportError(DriftError):
    """A report cannot be built: Evidently is missing, or the data does not fit the model."""


@dataclass(frozen=True, slots=True)
class ReportSummary:
    """What a written report covers.

    Attributes:
        path: the HTML file.
        columns: the model's columns in the report.
        skipped: columns left out, with why.
        current_rows, reference_rows: rows of each side.
        reference: where the reference came from.
        scores: Evidently's score per column, with the statistic's (display) name.
        drifted_count, drift_share: how many and what share of the columns Evidently found drifted.
        dataset_drifted: whether that share reaches the model's ``dataset_drift_share``.
    """

    path: Path
    columns: tuple[str, ...]
    skipped: dict[str, str] = field(default_factory=dict)
    current_rows: int = 0
    reference_rows: int = 0
    reference: str = ""
    scores: dict[str, tuple[str, float]] = field(default_factory=dict)
    drifted_count: int | None = None
    drift_share: float | None = None
    dataset_drifted: bool | None = None


# --- the reference --------------------------------------------------------------------------------
def frame_from_profile(profile: ReferenceProfile, *, seed: int = 0) -> pd.DataFrame:
    """Rows with the profile's per-column distributions: each column's distinct values repeated by
    their counts, padded with nulls (what the profile dropped: nulls, and infinities of numbers) to
    the reference's row count, and shuffled per column. Only the marginals are real: rows do not
    pair values as the training data did."""
    rng = np.random.default_rng(seed)
    sizes = [int(c.counts.sum()) for c in profile.columns.values()]
    rows = max([profile.rows, *sizes])
    data: dict[str, np.ndarray] = {}
    for name, column in profile.columns.items():
        values = np.repeat(column.uniques, column.counts)
        if column.kind is ColumnKind.NUMERIC:
            full = np.full(rows, np.nan)
            full[: len(values)] = values.astype(np.float64)
        else:
            full = np.full(rows, None, dtype=object)
            full[: len(values)] = values
        data[name] = rng.permutation(full)
    return pd.DataFrame(data)


def _model_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """A window's rows under the model's own column names (``feature.``/``output.`` removed)."""
    renamed = {
        c: c.removeprefix(FEATURE_PREFIX).removeprefix(OUTPUT_PREFIX)
        for c in frame.columns
        if c.startswith((FEATURE_PREFIX, OUTPUT_PREFIX))
    }
    if not renamed:  # already named as the model names them
        return frame
    return frame[list(renamed)].rename(columns=renamed)


def _traffic_reference(
    model: ModelSpec, version: str, segment: str, rows: int, archive: Path | None
) -> pd.DataFrame:
    if archive is None:
        raise ReportError(
            f"{model.identity} {version}: the reference is the first {rows} records of traffic; "
            "a window archive is needed to rebuild it"
        )
    parts: list[pd.DataFrame] = []
    gathered = 0
    for window in list_windows(archive, model.identity, version=version, segment=segment):
        parts.append(_model_rows(window.read_frame()))
        gathered += len(parts[-1])
        if gathered >= rows:
            break
    if not parts:
        raise ReportError(f"{model.identity} {version}: no archived window to take the reference from")
    if gathered < rows:
        log.warning(
            "%s %s: the archive holds %d of the %d reference records", model.identity, version, gathered, rows
        )
    return pd.concat(parts, ignore_index=True).iloc[:rows]


def _segment_of(profile: ReferenceProfile, segment: str, source: str) -> tuple[pd.DataFrame, str]:
    if not segment:
        return frame_from_profile(profile), source
    part = profile.segments.get(segment)
    if part is None:
        log.warning("the reference has no segment %s: the report uses the whole reference", segment)
        return frame_from_profile(profile), f"{source}, whole model: no segment {segment} in it"
    return frame_from_profile(part), f"{source}, segment {segment}"


def reference_frame_for(
    model: ModelSpec,
    version: str,
    segment: str = "",
    *,
    archive: Path | None = None,
    path: Path | None = None,
) -> tuple[pd.DataFrame, str]:
    """The reference rows of ``model`` ``version`` (and ``segment``), named as the model names its
    columns, and where they came from: ``path`` if given, else the catalog's reference of the version.

    A segment's reference is the reference's rows of that segment, as the aggregator profiles them
    (per-column distributions); a reference without that segment gives the whole reference."""
    if path is None:
        spec = model.reference_for(version)
        if spec is None:
            raise ReportError(f"{model.identity} has no reference for version {version!r} in the catalog")
        if spec.path is None:
            rows = spec.from_traffic or 0
            frame = _traffic_reference(model, version, segment, rows, archive)
            return frame, f"the first {rows} archived records"
        path = spec.path
    try:
        if is_profile_file(path):
            profile = reference_from_table(pq.read_table(path))
            if profile.model != model.identity:
                raise ReportError(f"{path} profiles {profile.model}, not {model.identity}")
            return _segment_of(profile, segment, f"{path} (profile: per-column distributions)")
        frame = read_reference_frame(path)
        if not segment:
            return frame, str(path)
        profile = build_reference(frame, model, version, source=str(path))
        return _segment_of(profile, segment, f"{path} (per-column distributions)")
    except ReferenceDataError as exc:
        raise ReportError(str(exc)) from exc


# --- the report -------------------------------------------------------------------------------------
def _typed(series: pd.Series, kind: ColumnKind) -> pd.Series:
    """Values as the drift engine compares them: numbers (non-numbers and infinities null) or strings."""
    if kind is ColumnKind.NUMERIC:
        numbers = pd.to_numeric(series, errors="coerce").astype(np.float64)
        return numbers.where(np.isfinite(numbers))
    return series.astype(object).map(lambda v: None if pd.isna(v) else str(v))


def write_report(
    model: ModelSpec,
    window_frame: pd.DataFrame,
    reference_frame: pd.DataFrame,
    out: Path,
    *,
    title: str | None = None,
    timestamp: datetime | None = None,
    reference_source: str = "",
) -> ReportSummary:
    """Write Evidently's data drift report of ``window_frame`` (wire-named columns, as archived, or
    model-named) against ``reference_frame`` (model-named) to the HTML file ``out``."""
    current_rows = _model_rows(window_frame)
    numerical: list[str] = []
    categorical: list[str] = []
    skipped: dict[str, str] = {}
    methods: dict[str, str] = {}
    thresholds: dict[str, float] = {}
    current: dict[str, pd.Series] = {}
    reference: dict[str, pd.Series] = {}
    for column in model.columns:
        kind = column_kind(column)
        if kind is None:
            skipped[column.name] = f"{column.type.value} columns are not monitored for drift"
            continue
        if column.name not in current_rows.columns:
            skipped[column.name] = "not in the window"
            continue
        if column.name not in reference_frame.columns:
            skipped[column.name] = "not in the reference"
            continue
        cur = _typed(current_rows[column.name].reset_index(drop=True), kind)
        ref = _typed(reference_frame[column.name].reset_index(drop=True), kind)
        if not cur.notna().any() or not ref.notna().any():
            skipped[column.name] = "no values in the " + ("window" if not cur.notna().any() else "reference")
            continue
        current[column.name], reference[column.name] = cur, ref
        (numerical if kind is ColumnKind.NUMERIC else categorical).append(column.name)
        statistic = model.drift_statistic_for(column)
        if statistic != AUTO:
            methods[column.name] = statistic
        threshold = model.drift_threshold_for(column)
        if threshold is not None:
            thresholds[column.name] = threshold
    columns = [c.name for c in model.columns if c.name in current]
    if not columns:
        raise ReportError(f"{model.identity}: no column to compare: {skipped}")

    with warnings.catch_warnings():  # Evidently's imports and runs warn about its own dependencies
        warnings.simplefilter("ignore")
        try:
            from evidently import DataDefinition, Dataset, Report
            from evidently.presets import DataDriftPreset
        except ImportError as exc:
            raise ReportError(f"reports need Evidently: {INSTALL_HINT} ({exc})") from exc
        definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
        preset = DataDriftPreset(
            columns=columns,
            drift_share=model.drift.dataset_drift_share,
            per_column_method=methods or None,
            per_column_threshold=thresholds or None,
        )
        try:
            snapshot = Report([preset]).run(
                Dataset.from_pandas(pd.DataFrame(current), data_definition=definition),
                Dataset.from_pandas(pd.DataFrame(reference), data_definition=definition),
                timestamp=timestamp,
                name=title or f"{model.identity} data drift",
            )
        except Exception as exc:  # Evidently's errors have no common base
            log.debug("Evidently failed", exc_info=True)
            raise ReportError(f"Evidently could not build the report: {type(exc).__name__}: {exc}") from exc
        out = Path(out)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            snapshot.save_html(str(out))
        except OSError as exc:
            raise ReportError(f"cannot write the report {out}: {exc}") from exc
        scores, count, share = _outcome(snapshot)
    return ReportSummary(
        out,
        tuple(columns),
        skipped,
        len(current_rows),
        len(reference_frame),
        reference_source,
        scores,
        count,
        share,
        None if share is None else share >= model.drift.dataset_drift_share,
    )


def _outcome(snapshot: Any) -> tuple[dict[str, tuple[str, float]], int | None, float | None]:
    """Per-column scores and the drifted columns' count and share, read from Evidently's snapshot."""
    scores: dict[str, tuple[str, float]] = {}
    count = share = None
    try:
        for metric in snapshot.dict()["metrics"]:
            config, value = metric["config"], metric["value"]
            kind = str(config.get("type", ""))
            if kind.endswith(":ValueDrift"):
                scores[str(config["column"])] = (str(config.get("method", "")), float(value))
            elif kind.endswith(":DriftedColumnsCount"):
                count, share = int(value["count"]), float(value["share"])
    except (KeyError, TypeError, ValueError, AttributeError):  # the report itself is written
        log.debug("cannot read Evidently's results", exc_info=True)
    return scores, count, share


def report_window(
    model: ModelSpec,
    window: ArchivedWindow,
    out: Path,
    *,
    archive: Path | None = None,
    reference_path: Path | None = None,
) -> ReportSummary:
    """Write the drift report of an archived window against its version's reference."""
    if window.model != model.identity:
        raise ReportError(f"window {window.path} is of {window.model}, not {model.identity}")
    reference, source = reference_frame_for(
        model, window.version, window.segment, archive=archive, path=reference_path
    )
    title = (
        f"{model.identity} {window.version} {window.segment or ALL_SEGMENTS} "
        f"{window.start_time:%Y-%m-%d %H:%M:%S}–{window.end_time:%H:%M:%S} UTC"
    )
    return write_report(
        model,
        window.read_frame(),
        reference,
        out,
        title=title,
        timestamp=window.start_time,
        reference_source=source,
    )
