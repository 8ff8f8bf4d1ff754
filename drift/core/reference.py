"""Reference profiles: what drift needs of a model version's training data, computed once.

A profile holds, per monitored column, its :class:`ColumnProfile` (sorted distinct values and their
counts, moments), so no window repeats reference work; the fitted PCA reconstruction; a seeded row
sample for the domain classifier; and the same again for every segment value. Profiles are saved as
one Parquet file: the distinct values and counts of every column (and the sample's cells) in long
form, with JSON metadata (format version, model, version, rows, column kinds, PCA, segments) in the
file's schema metadata.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from agent.catalog.model import ColumnSpec, ColumnType, ModelSpec, Task
from drift.core.cbpe import Calibration, calibration_from_dict, calibration_to_dict, fit_calibration
from drift.core.errors import ReferenceDataError
from drift.core.multivariate import PcaReconstruction, fit_pca_reconstruction
from drift.core.quality import class_codes
from drift.core.segments import OTHER, most_frequent, segment_keys, segment_label
from drift.core.statistics import ColumnKind, ColumnProfile

__all__ = [
    "FORMAT_VERSION",
    "ReferenceProfile",
    "build_reference",
    "column_kind",
    "profile_column",
    "reference_from_table",
    "reference_to_table",
]

FORMAT_VERSION = 2
SAMPLE_ROWS = 5000  # reference rows kept for the domain classifier (whole versions, not segments)
_METADATA_KEY = b"modelmon.reference"


def column_kind(column: ColumnSpec) -> ColumnKind | None:
    """How drift treats a catalog column: numbers are numeric, categories and booleans categorical."""
    if column.type.is_numeric:
        return ColumnKind.NUMERIC
    if column.type in (ColumnType.CATEGORY, ColumnType.BOOL):
        return ColumnKind.CATEGORICAL
    return None  # free text is not monitored for drift


def profile_column(values: Any, kind: ColumnKind) -> ColumnProfile:
    """Profile a column's values (a Series or array) as ``kind``; non-numbers in a numeric column are NaN."""
    if kind is ColumnKind.NUMERIC:
        numbers = pd.to_numeric(pd.Series(values), errors="coerce")
        return ColumnProfile.numeric(numbers.to_numpy(dtype=np.float64, na_value=np.nan))
    return ColumnProfile.categorical(values)


@dataclass(frozen=True, slots=True)
class ReferenceProfile:
    """Precomputed reference columns of one model version (or of one segment of it).

    Attributes:
        model: the model identity.
        version: the model version it describes (``*`` for any).
        rows: rows of the reference dataset.
        columns: per catalog column name, its profile.
        source: where it was built from (a file path, or ``traffic``).
        multivariate: the PCA reconstruction fitted on the numeric features.
        sample: up to ``SAMPLE_ROWS`` reference rows of the features, for the domain classifier.
        segment_values: per segment column, the values that get their own segment (the most
            frequent ones, up to the segment's cap); other values form ``__other__``.
        segments: per segment label (``column=value``), that segment's own reference.
        calibration: the classifier's score calibration and metric spread, fitted on reference
            rows that carry labels, for estimating performance before labels arrive (CBPE).
    """

    model: str
    version: str
    rows: int
    columns: dict[str, ColumnProfile]
    source: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    multivariate: PcaReconstruction | None = None
    sample: pd.DataFrame | None = None
    segment_values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    segments: dict[str, ReferenceProfile] = field(default_factory=dict)
    calibration: Calibration | None = None


def _profile(
    frame: pd.DataFrame,
    model: ModelSpec,
    version: str,
    source: str,
    sample_rows: int,
    progress: Callable[[str], None] | None = None,
    executor: Executor | None = None,
) -> ReferenceProfile:
    jobs = [
        (column.name, kind)
        for column in model.columns
        if (kind := column_kind(column)) is not None and column.name in frame.columns
    ]
    columns: dict[str, ColumnProfile] = {}
    if executor is None:
        profiles: Iterator[ColumnProfile] = (profile_column(frame[name], kind) for name, kind in jobs)
    else:  # sorting and counting release the GIL: a column per core
        profiles = executor.map(lambda job: profile_column(frame[job[0]], job[1]), jobs)
    for (name, _), profile in zip(jobs, profiles, strict=True):
        columns[name] = profile
        if progress:
            progress(name)
    numeric_features = tuple(c.name for c in model.features if c.type.is_numeric and c.name in frame.columns)
    multivariate = fit_pca_reconstruction(frame, numeric_features) if model.drift.multivariate else None
    sample = None
    features = [c.name for c in model.features if column_kind(c) is not None and c.name in frame.columns]
    if model.drift.domain_classifier and features and len(frame) and sample_rows:
        rows = frame[features]
        if len(rows) > sample_rows:  # seeded: the same data always gives the same profile
            rows = rows.sample(sample_rows, random_state=0)
        sample = rows.reset_index(drop=True)
    return ReferenceProfile(
        model.identity, version, len(frame), columns, source, multivariate=multivariate, sample=sample
    )


def build_reference(
    frame: pd.DataFrame,
    model: ModelSpec,
    version: str = "*",
    *,
    source: str = "",
    progress: Callable[[str], None] | None = None,
    executor: Executor | None = None,
) -> ReferenceProfile:
    """Profile the model's columns found in ``frame`` (named as the model names them), and each of
    its segments (see :mod:`drift.core.segments`); with an ``executor``, columns in parallel."""
    profile = _profile(frame, model, version, source, SAMPLE_ROWS, progress, executor)
    if not profile.columns:
        raise ReferenceDataError(
            f"{model.identity}: the reference has none of the model's columns "
            f"{[c.name for c in model.columns]}; it has {list(frame.columns)[:20]}"
        )
    segment_values: dict[str, tuple[str, ...]] = {}
    segments: dict[str, ReferenceProfile] = {}
    for segment in model.segments:
        if segment.column not in frame.columns:
            continue
        keys = segment_keys(frame[segment.column])
        kept = most_frequent(keys, segment.max_cardinality)
        segment_values[segment.column] = kept
        for value in (*kept, OTHER):
            mask = ~np.isin(keys, kept) if value == OTHER else keys == value
            if mask.any():
                part = frame.loc[mask]
                # No sample: the domain classifier runs on whole versions only (it costs a model fit).
                segments[segment_label(segment.column, value)] = _profile(
                    part, model, version, source, 0, executor=executor
                )
    return replace(
        profile, segment_values=segment_values, segments=segments, calibration=_calibration(frame, model)
    )


def _calibration(frame: pd.DataFrame, model: ModelSpec) -> Calibration | None:
    """CBPE's calibration when the reference has the label and every score output, else None."""
    quality = model.quality
    if quality is None or quality.task is not Task.CLASSIFICATION or not quality.scores:
        return None
    if quality.label not in frame.columns or any(o not in frame.columns for o in quality.scores.values()):
        return None
    labels = class_codes(frame[quality.label], quality.classes)
    scores = {
        cls: pd.to_numeric(frame[output], errors="coerce").to_numpy(np.float64, na_value=np.nan)
        for cls, output in quality.scores.items()
    }
    try:
        return fit_calibration(quality, scores, labels)
    except ValueError:  # too few usable rows: no estimates, the realized metrics still come
        return None


def _long_form(profile: ReferenceProfile, segment: str) -> dict[str, list[np.ndarray]]:
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("segment", "column", "number", "category", "count", "row")
    }

    def put(
        names: np.ndarray, numbers: np.ndarray, categories: np.ndarray, counts: np.ndarray, rows: np.ndarray
    ) -> None:
        parts["segment"].append(np.full(len(names), segment, dtype=object))
        parts["column"].append(names)
        parts["number"].append(numbers)
        parts["category"].append(categories)
        parts["count"].append(counts)
        parts["row"].append(rows)

    for name, column in profile.columns.items():
        n = column.nunique
        numeric = column.kind is ColumnKind.NUMERIC
        put(
            np.full(n, name, dtype=object),
            column.uniques.astype(np.float64) if numeric else np.full(n, np.nan),
            np.full(n, None, dtype=object) if numeric else column.uniques.astype(object),
            column.counts.astype(np.float64),
            np.full(n, np.nan),
        )
    if profile.sample is not None:
        kinds = {name: c.kind for name, c in profile.columns.items()}
        n = len(profile.sample)
        for name in profile.sample.columns:
            values = profile.sample[name]
            numeric = kinds.get(name) is ColumnKind.NUMERIC
            put(
                np.full(n, name, dtype=object),
                pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
                if numeric
                else np.full(n, np.nan),
                np.full(n, None, dtype=object)
                if numeric
                else np.array([None if pd.isna(v) else str(v) for v in values], dtype=object),
                np.full(n, np.nan),
                np.arange(n, dtype=np.float64),
            )
    return parts


def _pca_metadata(pca: PcaReconstruction | None) -> dict[str, Any] | None:
    if pca is None:
        return None
    return {
        "columns": list(pca.columns),
        "mean": pca.mean.tolist(),
        "scale": pca.scale.tolist(),
        "components": pca.components.tolist(),
        "baseline_mean": pca.baseline_mean,
        "baseline_std": pca.baseline_std,
    }


def _pca_from_metadata(raw: dict[str, Any] | None) -> PcaReconstruction | None:
    if raw is None:
        return None
    return PcaReconstruction(
        tuple(raw["columns"]),
        np.array(raw["mean"], dtype=np.float64),
        np.array(raw["scale"], dtype=np.float64),
        np.array(raw["components"], dtype=np.float64),
        float(raw["baseline_mean"]),
        float(raw["baseline_std"]),
    )


def _part_metadata(profile: ReferenceProfile) -> dict[str, Any]:
    return {
        "rows": profile.rows,
        "columns": {name: column.kind.value for name, column in profile.columns.items()},
        "pca_reconstruction": _pca_metadata(profile.multivariate),
    }


def reference_to_table(profile: ReferenceProfile) -> pa.Table:
    """The profile as an Arrow table (long form) carrying its metadata, for a Parquet file.

    Rows: per segment (empty for the whole version), column and distinct value, its count; and the
    sample's values with their row number (``count`` null).
    """
    parts = _long_form(profile, "")
    for label, segment in profile.segments.items():
        for key, arrays in _long_form(segment, label).items():
            parts[key].extend(arrays)
    metadata = {
        "format_version": FORMAT_VERSION,
        "model": profile.model,
        "version": profile.version,
        "source": profile.source,
        **_part_metadata(profile),
        "segment_values": {column: list(values) for column, values in profile.segment_values.items()},
        "calibration": calibration_to_dict(profile.calibration) if profile.calibration else None,
        "segments": {label: _part_metadata(segment) for label, segment in profile.segments.items()},
        **profile.metadata,
    }

    def joined(key: str) -> np.ndarray:
        return np.concatenate(parts[key]) if parts[key] else np.empty(0)

    table = pa.table(
        {
            "segment": pa.array(joined("segment"), pa.string()),
            "column": pa.array(joined("column"), pa.string()),
            "number": pa.array(joined("number").astype(np.float64), pa.float64()),
            "category": pa.array(joined("category"), pa.string()),
            "count": pa.array(joined("count").astype(np.float64), pa.float64(), from_pandas=True).cast(
                pa.int64()
            ),
            "row": pa.array(joined("row").astype(np.float64), pa.float64(), from_pandas=True).cast(
                pa.int64()
            ),
        }
    )
    return table.replace_schema_metadata({_METADATA_KEY: json.dumps(metadata).encode()})


def _read_part(
    frame: pd.DataFrame, meta: dict[str, Any], model: str, version: str, source: str
) -> ReferenceProfile:
    kinds = {name: ColumnKind(kind) for name, kind in meta["columns"].items()}
    is_sample = frame["row"].notna()
    columns: dict[str, ColumnProfile] = {}
    for name, group in frame.loc[~is_sample].groupby("column", sort=False):
        kind = kinds[str(name)]
        counts = group["count"].to_numpy(dtype=np.int64)
        if kind is ColumnKind.NUMERIC:
            columns[str(name)] = ColumnProfile.numeric(np.repeat(group["number"].to_numpy(), counts))
        else:
            columns[str(name)] = ColumnProfile.categorical(
                np.repeat(group["category"].to_numpy(dtype=object), counts)
            )
    sample = None
    if is_sample.any():
        cells = frame.loc[is_sample]
        series = {}
        for name, group in cells.groupby("column", sort=False):
            ordered = group.sort_values("row")
            numeric = kinds.get(str(name)) is ColumnKind.NUMERIC
            series[str(name)] = (ordered["number"] if numeric else ordered["category"]).reset_index(drop=True)
        sample = pd.DataFrame(series)
    return ReferenceProfile(
        model,
        version,
        int(meta["rows"]),
        columns,
        source,
        multivariate=_pca_from_metadata(meta.get("pca_reconstruction")),
        sample=sample,
    )


def reference_from_table(table: pa.Table) -> ReferenceProfile:
    """Read a profile written by :func:`reference_to_table`. Raises on another format version."""
    raw = (table.schema.metadata or {}).get(_METADATA_KEY)
    if raw is None:
        raise ReferenceDataError("not a modelmon reference profile (no metadata)")
    metadata = json.loads(raw)
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ReferenceDataError(
            f"reference profile format {metadata.get('format_version')} is not supported "
            f"(this modelmon reads format {FORMAT_VERSION}): build it again with `modelmon reference build`"
        )
    frame = table.to_pandas()
    model, version, source = metadata["model"], metadata["version"], metadata.get("source", "")
    by_segment = dict(tuple(frame.groupby("segment", sort=False)))
    empty = frame.iloc[0:0]
    profile = _read_part(by_segment.get("", empty), metadata, model, version, source)
    segments = {
        label: _read_part(by_segment.get(label, empty), meta, model, version, source)
        for label, meta in metadata.get("segments", {}).items()
    }
    known = {
        "format_version",
        "model",
        "version",
        "rows",
        "source",
        "columns",
        "pca_reconstruction",
        "segment_values",
        "segments",
        "calibration",
    }
    extra = {k: v for k, v in metadata.items() if k not in known}
    return replace(
        profile,
        metadata=extra,
        segment_values={
            column: tuple(values) for column, values in metadata.get("segment_values", {}).items()
        },
        segments=segments,
        calibration=calibration_from_dict(metadata["calibration"]) if metadata.get("calibration") else None,
    )
