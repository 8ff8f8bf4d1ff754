"""Load reference datasets named in the catalog and keep their profiles, once per model version."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pandas as pd

from agent.catalog.model import ModelSpec
from drift.core.errors import ReferenceDataError
from drift.core.reference import ReferenceProfile, build_reference

__all__ = ["ReferenceCache", "read_reference_frame"]

log = logging.getLogger(__name__)


def read_reference_frame(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet reference file."""
    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise ReferenceDataError(f"cannot read reference {path}: {exc}") from exc


class ReferenceCache:
    """Profiles by (model, version). A reference that fails to load is logged once and yields None."""

    def __init__(self) -> None:
        self._profiles: dict[Path, ReferenceProfile | None] = {}
        self._lock = threading.Lock()

    def get(self, model: ModelSpec, version: str) -> ReferenceProfile | None:
        spec = model.reference_for(version)
        if spec is None:
            return None
        with self._lock:
            if spec.path not in self._profiles:
                try:
                    self._profiles[spec.path] = build_reference(read_reference_frame(spec.path), model)
                    log.info("loaded reference %s for %s", spec.path, model.identity)
                except ReferenceDataError as exc:
                    log.error("%s; drift of %s is not computed", exc, model.identity)
                    self._profiles[spec.path] = None
            return self._profiles[spec.path]
