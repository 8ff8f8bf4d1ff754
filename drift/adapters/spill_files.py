"""The label join's spill store on local disk: one uncompressed Arrow IPC file per spilled run,
memory-mapped when read, so taking a few rows reads only their pages."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = ["FileSpill"]


class FileSpill:
    """A ``drift.core.spill.SpillStore`` in a directory (emptied at start: spills do not outlive a
    process; snapshots are what survive restarts)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        for stale in self.root.glob("run-*.arrow"):  # a previous process's spills
            stale.unlink()
        self._ids = itertools.count()

    def write(self, columns: dict[str, npt.NDArray[Any]]) -> str:
        handle = f"run-{next(self._ids)}.arrow"
        table = pa.table({name: pa.array(values) for name, values in columns.items()})
        with pa.OSFile(str(self.root / handle), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        return handle

    def read(self, handle: str, rows: npt.NDArray[np.intp] | None = None) -> dict[str, npt.NDArray[Any]]:
        with pa.memory_map(str(self.root / handle)) as source:
            table = pa.ipc.open_file(source).read_all()
            if rows is not None:
                table = table.take(pa.array(rows))
            return {name: table.column(name).to_numpy() for name in table.column_names}

    def delete(self, handle: str) -> None:
        (self.root / handle).unlink(missing_ok=True)
