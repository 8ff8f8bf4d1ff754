"""Where the label join puts waiting rows it does not keep in memory: the interface, and a memory
implementation for tests. The aggregator passes a file-backed one (``drift.adapters.spill_files``)."""

from __future__ import annotations

import itertools
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["MemorySpill", "SpillStore"]

Columns = dict[str, npt.NDArray[Any]]


class SpillStore(Protocol):
    """Keeps columns of a run out of memory; reads back chosen rows."""

    def write(self, columns: Columns) -> str:
        """Store the columns (all of one length); returns a handle."""
        ...

    def read(self, handle: str, rows: npt.NDArray[np.intp] | None = None) -> Columns:
        """The stored columns, all rows or only ``rows``."""
        ...

    def delete(self, handle: str) -> None: ...


class MemorySpill:
    """A :class:`SpillStore` in a dict (tests: the same behaviour, nothing on disk)."""

    def __init__(self) -> None:
        self.stored: dict[str, Columns] = {}
        self._ids = itertools.count()

    def write(self, columns: Columns) -> str:
        handle = str(next(self._ids))
        self.stored[handle] = {name: values.copy() for name, values in columns.items()}
        return handle

    def read(self, handle: str, rows: npt.NDArray[np.intp] | None = None) -> Columns:
        columns = self.stored[handle]
        return {name: values if rows is None else values[rows] for name, values in columns.items()}

    def delete(self, handle: str) -> None:
        del self.stored[handle]
