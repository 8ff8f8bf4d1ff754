"""Snapshots of the label side on disk, so a restart loses no waiting prediction or label.

Per input partition, a directory holds each of its models' waiting predictions, labels and joined
keys and its quality windows (Parquet), their counters and versions (JSON), and the offsets the
snapshot covers: predictions below ``predictions_until`` and labels below ``labels_until`` are in
it. The aggregator commits the labels topic only up to a snapshot, and on restart re-reads the
predictions topic from ``predictions_until``, so what arrived after the last snapshot is consumed
again: nothing is lost, and a label or prediction seen twice is a counted duplicate. A snapshot is
written to a new directory and renamed over the old one, so a crash mid-write keeps the previous.
Put the directory on a volume shared by the aggregators (ReadWriteMany) and a partition's new owner
picks its snapshot up after a rebalance too.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from agent.catalog.model import Catalog
from drift.core.join import JoinCounts, LabelJoin
from drift.core.quality_windows import QualityWindows

__all__ = ["JoinSnapshots", "PartitionSnapshot"]

log = logging.getLogger(__name__)

_KINDS = ("predictions", "labels", "joined")


@dataclass(frozen=True, slots=True)
class PartitionSnapshot:
    """A partition's label side as saved: per model its join and quality windows, and the offsets."""

    partition: int
    predictions_until: int
    labels_until: int | None
    models: dict[str, tuple[LabelJoin, QualityWindows]]


def _write(path: Path, columns: dict[str, Any]) -> None:
    arrays = {}
    for name, values in columns.items():
        array = np.asarray(values)
        arrays[name] = pa.array(array.astype(str) if array.dtype == object else array)
    pq.write_table(pa.table(arrays), path)


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    table = pq.read_table(path)
    return {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}


class JoinSnapshots:
    """Writes and reads :class:`PartitionSnapshot` under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _dir(self, partition: int) -> Path:
        return self.root / f"partition-{partition}"

    def save(
        self,
        partition: int,
        models: dict[str, tuple[LabelJoin, QualityWindows]],
        predictions_until: int,
        labels_until: int | None,
    ) -> None:
        final = self._dir(partition)
        staging = final.with_name(final.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for identity, (join, windows) in models.items():
            folder = staging / quote(identity, safe="")
            folder.mkdir()
            for kind, rows in join.snapshot().items():
                if rows:
                    _write(folder / f"{kind}.parquet", rows)
            window_counts, window_rows = windows.snapshot()
            if window_rows:
                _write(folder / "quality.parquet", window_rows)
            meta = {
                "versions": join.versions,
                "segment_values": join.segment_values,
                "counts": dataclasses.asdict(join.counts),
                "watermark_us": join.watermark_us,
                "windows": window_counts,
            }
            (folder / "meta.json").write_text(json.dumps(meta))
        offsets = {"predictions_until": predictions_until, "labels_until": labels_until}
        (staging / "offsets.json").write_text(json.dumps(offsets))
        old = final.with_name(final.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            final.rename(old)
        staging.rename(final)
        shutil.rmtree(old, ignore_errors=True)

    def load(self, partition: int, catalog: Catalog) -> PartitionSnapshot | None:
        """The partition's last snapshot, or None. Models no longer in the catalog are skipped."""
        folder = self._dir(partition)
        if not (folder / "offsets.json").exists():
            # A crash between the two renames of ``save`` leaves only the previous snapshot.
            folder = folder.with_name(folder.name + ".old")
            if not (folder / "offsets.json").exists():
                return None
        offsets = json.loads((folder / "offsets.json").read_text())
        models: dict[str, tuple[LabelJoin, QualityWindows]] = {}
        for path in sorted(p for p in folder.iterdir() if p.is_dir()):
            identity = unquote(path.name)
            model = catalog.get(identity)
            if model is None or model.quality is None:
                log.warning(
                    "snapshot of partition %d: %s is no longer monitored for quality", partition, identity
                )
                continue
            meta = json.loads((path / "meta.json").read_text())
            join, windows = LabelJoin(model), QualityWindows(model)
            join.restore(
                {kind: _read(path / f"{kind}.parquet") for kind in _KINDS},
                meta["versions"],
                JoinCounts(**meta["counts"]),
                meta["watermark_us"],
                meta.get("segment_values"),
            )
            windows.restore([tuple(w) for w in meta["windows"]], _read(path / "quality.parquet"))
            models[identity] = (join, windows)
        return PartitionSnapshot(
            partition, int(offsets["predictions_until"]), offsets["labels_until"], models
        )
