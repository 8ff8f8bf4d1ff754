"""Reference profiles: what drift needs of a model version's training data, computed once.

A profile holds, per monitored column, its :class:`ColumnProfile` (sorted distinct values and their
counts, moments), so no window repeats reference work. Profiles are saved as one Parquet file: the
distinct values and counts of every column in long form, with JSON metadata (format version, model,
version, rows, column kinds) in the file's schema metadata.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from agent.catalog.model import ColumnSpec, ColumnType, ModelSpec
from drift.core.errors import ReferenceDataError
from drift.core.multivariate import PcaReconstruction, fit_pca_reconstruction
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

FORMAT_VERSION = 1
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
    """Precomputed reference columns of one model version.

    Attributes:
        model: the model identity.
        version: the model version it describes (``*`` for any).
        rows: rows of the reference dataset.
        columns: per catalog column name, its profile.
        source: where it was built from (a file path, or ``traffic``).
    """

    model: str
    version: str
    rows: int
    columns: dict[str, ColumnProfile]
    source: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    multivariate: PcaReconstruction | None = None


def build_reference(
    frame: pd.DataFrame,
    model: ModelSpec,
    version: str = "*",
    *,
    source: str = "",
    progress: Callable[[str], None] | None = None,
) -> ReferenceProfile:
    """Profile the model's columns found in ``frame`` (named as the model names them)."""
    columns: dict[str, ColumnProfile] = {}
    for column in model.columns:
        kind = column_kind(column)
        if kind is None or column.name not in frame.columns:
            continue
        columns[column.name] = profile_column(frame[column.name], kind)
        if progress:
            progress(column.name)
    if not columns:
        raise ReferenceDataError(
            f"{model.identity}: the reference has none of the model's columns "
            f"{[c.name for c in model.columns]}; it has {list(frame.columns)[:20]}"
        )
    numeric_features = tuple(c.name for c in model.features if c.type.is_numeric and c.name in frame.columns)
    multivariate = fit_pca_reconstruction(frame, numeric_features) if model.drift.multivariate else None
    return ReferenceProfile(model.identity, version, len(frame), columns, source, multivariate=multivariate)


def reference_to_table(profile: ReferenceProfile) -> pa.Table:
    """The profile as an Arrow table (long form) carrying its metadata, for a Parquet file."""
    names: list[str] = []
    numbers: list[np.ndarray] = []
    categories: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    kinds: dict[str, str] = {}
    for name, column in profile.columns.items():
        kinds[name] = column.kind.value
        n = column.nunique
        names.extend([name] * n)
        if column.kind is ColumnKind.NUMERIC:
            numbers.append(column.uniques.astype(np.float64))
            categories.append(np.full(n, None, dtype=object))
        else:
            numbers.append(np.full(n, np.nan))
            categories.append(column.uniques.astype(object))
        counts.append(column.counts)
    metadata = {
        "format_version": FORMAT_VERSION,
        "model": profile.model,
        "version": profile.version,
        "rows": profile.rows,
        "source": profile.source,
        "columns": kinds,
        **profile.metadata,
    }
    pca = profile.multivariate
    if pca is not None:
        metadata["pca_reconstruction"] = {
            "columns": list(pca.columns),
            "mean": pca.mean.tolist(),
            "scale": pca.scale.tolist(),
            "components": pca.components.tolist(),
            "baseline_mean": pca.baseline_mean,
            "baseline_std": pca.baseline_std,
        }
    table = pa.table(
        {
            "column": pa.array(names, pa.string()),
            "number": pa.array(np.concatenate(numbers) if numbers else [], pa.float64()),
            "category": pa.array(np.concatenate(categories) if categories else [], pa.string()),
            "count": pa.array(np.concatenate(counts) if counts else [], pa.int64()),
        }
    )
    return table.replace_schema_metadata({_METADATA_KEY: json.dumps(metadata).encode()})


def reference_from_table(table: pa.Table) -> ReferenceProfile:
    """Read a profile written by :func:`reference_to_table`. Raises on another format version."""
    raw = (table.schema.metadata or {}).get(_METADATA_KEY)
    if raw is None:
        raise ReferenceDataError("not a modelmon reference profile (no metadata)")
    metadata = json.loads(raw)
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ReferenceDataError(
            f"reference profile format {metadata.get('format_version')} is not supported"
        )
    frame = table.to_pandas()
    columns: dict[str, ColumnProfile] = {}
    for name, group in frame.groupby("column", sort=False):
        kind = ColumnKind(metadata["columns"][name])
        counts = group["count"].to_numpy(dtype=np.int64)
        if kind is ColumnKind.NUMERIC:
            columns[str(name)] = ColumnProfile.numeric(np.repeat(group["number"].to_numpy(), counts))
        else:
            columns[str(name)] = ColumnProfile.categorical(
                np.repeat(group["category"].to_numpy(dtype=object), counts)
            )
    pca = metadata.get("pca_reconstruction")
    multivariate = None
    if pca is not None:
        multivariate = PcaReconstruction(
            tuple(pca["columns"]),
            np.array(pca["mean"]),
            np.array(pca["scale"]),
            np.array(pca["components"]),
            float(pca["baseline_mean"]),
            float(pca["baseline_std"]),
        )
    known = ("format_version", "model", "version", "rows", "source", "columns", "pca_reconstruction")
    extra = {k: v for k, v in metadata.items() if k not in known}
    return ReferenceProfile(
        metadata["model"],
        metadata["version"],
        int(metadata["rows"]),
        columns,
        metadata.get("source", ""),
        extra,
        multivariate,
    )
