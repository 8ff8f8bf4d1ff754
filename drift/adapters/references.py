"""Reference profiles for the aggregator: from profile files, training data, or live traffic.

A catalog reference is either a file — a profile written by ``modelmon reference build`` (loaded as
is) or training data in CSV/Parquet (profiled on first use) — or ``from_traffic: N``: the first N
records of the model version, gathered from its windows, become its reference. Windows before
that report ``no_reference``. Gathered traffic lives in this process: after a hand-over the new
owner gathers again.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Executor
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from agent.catalog.model import ModelSpec
from agent.wire.format import FEATURE_PREFIX, OUTPUT_PREFIX
from drift.core.errors import ReferenceDataError
from drift.core.reference import ReferenceProfile, build_reference, reference_from_table

__all__ = ["ReferenceCache", "is_profile_file", "load_reference", "read_reference_frame"]

log = logging.getLogger(__name__)


def read_reference_frame(path: Path) -> pd.DataFrame:
    """Read training data from a CSV or Parquet file."""
    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise ReferenceDataError(f"cannot read reference {path}: {exc}") from exc


def is_profile_file(path: Path) -> bool:
    if path.suffix.lower() == ".csv":
        return False
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, ValueError) as exc:
        raise ReferenceDataError(f"cannot read reference {path}: {exc}") from exc
    return b"modelmon.reference" in metadata


def load_reference(
    path: Path, model: ModelSpec, version: str, executor: Executor | None = None
) -> ReferenceProfile:
    """A profile file as it is, or training data profiled now."""
    if is_profile_file(path):
        profile = reference_from_table(pq.read_table(path))
        if profile.model != model.identity:
            raise ReferenceDataError(f"{path} profiles {profile.model}, not {model.identity}")
        return profile
    return build_reference(read_reference_frame(path), model, version, source=str(path), executor=executor)


def _model_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Window rows with the model's own column names (the wire prefixes removed)."""
    renamed = {
        c: c.removeprefix(FEATURE_PREFIX).removeprefix(OUTPUT_PREFIX)
        for c in frame.columns
        if c.startswith((FEATURE_PREFIX, OUTPUT_PREFIX))
    }
    return frame[list(renamed)].rename(columns=renamed)


class ReferenceCache:
    """Profiles by (model, version). A reference that fails to load is logged once and yields None."""

    def __init__(self, executor: Executor | None = None) -> None:
        self._executor = executor  # profiles a reference's columns in parallel
        self._profiles: dict[tuple[str, str], ReferenceProfile | None] = {}
        self._gathering: dict[tuple[str, str], list[pd.DataFrame]] = {}
        self._lock = threading.Lock()

    def get(self, model: ModelSpec, version: str) -> ReferenceProfile | None:
        spec = model.reference_for(version)
        if spec is None:
            return None
        key = (model.identity, version if spec.from_traffic else str(spec.path))
        with self._lock:
            if key in self._profiles or spec.path is None:
                return self._profiles.get(key)
            try:
                self._profiles[key] = load_reference(spec.path, model, version, self._executor)
                log.info("loaded reference %s for %s", spec.path, model.identity)
            except ReferenceDataError as exc:
                log.error("%s; drift of %s is not computed", exc, model.identity)
                self._profiles[key] = None
            return self._profiles[key]

    def observe(self, model: ModelSpec, version: str, frame: pd.DataFrame) -> None:
        """Feed a closed window of a ``from_traffic`` model version until its reference is complete."""
        spec = model.reference_for(version)
        if spec is None or not spec.from_traffic:
            return
        key = (model.identity, version)
        with self._lock:
            if key in self._profiles:
                return
            parts = self._gathering.setdefault(key, [])
            parts.append(frame)
            gathered = pd.concat(parts, ignore_index=True)
            if "request_id" in gathered.columns:  # sliding windows share rows: take each once
                gathered = gathered.drop_duplicates("request_id")
            self._gathering[key] = [gathered]
            if len(gathered) < spec.from_traffic:
                return
            data = _model_columns(gathered).iloc[: spec.from_traffic]
            del self._gathering[key]
        try:
            profile = build_reference(data, model, version, source="traffic", executor=self._executor)
        except ReferenceDataError as exc:
            log.error("%s; drift of %s is not computed", exc, model.identity)
            profile = None
        with self._lock:
            self._profiles[key] = profile
        log.info("built the reference of %s %s from %d live records", model.identity, version, len(data))
