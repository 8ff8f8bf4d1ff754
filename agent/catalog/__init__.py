"""The model catalog: one YAML file that every modelmon component reads."""

from agent.catalog.durations import parse_duration
from agent.catalog.load import load_catalog, parse_catalog
from agent.catalog.model import (
    Catalog,
    ColumnSpec,
    ColumnType,
    DriftSpec,
    ModelSpec,
    QualitySpec,
    ReferenceSpec,
    RetrainingTarget,
    SegmentSpec,
    SloSpec,
    Task,
    WindowKind,
    WindowSpec,
)

__all__ = [
    "Catalog",
    "ColumnSpec",
    "ColumnType",
    "DriftSpec",
    "ModelSpec",
    "QualitySpec",
    "ReferenceSpec",
    "RetrainingTarget",
    "SegmentSpec",
    "SloSpec",
    "Task",
    "WindowKind",
    "WindowSpec",
    "load_catalog",
    "parse_catalog",
    "parse_duration",
]
