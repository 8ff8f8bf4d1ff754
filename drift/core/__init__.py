"""The aggregator's pure computing core: DataFrames and arrays in, frozen dataclasses out.

No Kafka, HTTP or Prometheus import here (enforced by import-linter); adapters call these.
"""

from drift.core.compute import compute_window, summarize_latency
from drift.core.decode import DecodedBatch, Rejection, RejectReason, decode_predictions
from drift.core.errors import DriftError, ReferenceDataError, StatisticError
from drift.core.reference import ReferenceProfile, build_reference
from drift.core.results import ColumnDrift, DriftStatus, LatencySummary, WindowKey, WindowResult
from drift.core.windows import AddOutcome, Checkpoint, ClosedWindow, PartitionWindows

__all__ = [
    "AddOutcome",
    "Checkpoint",
    "ClosedWindow",
    "ColumnDrift",
    "DecodedBatch",
    "DriftError",
    "DriftStatus",
    "LatencySummary",
    "PartitionWindows",
    "ReferenceDataError",
    "ReferenceProfile",
    "RejectReason",
    "Rejection",
    "StatisticError",
    "WindowKey",
    "WindowResult",
    "build_reference",
    "compute_window",
    "decode_predictions",
    "summarize_latency",
]
