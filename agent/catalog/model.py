"""The model catalog's schema: documented, frozen dataclasses.

One YAML file describes every monitored model. The agent reads it to know a model's features, the
aggregator to know windows, references and thresholds, the generators to build dashboards and alert
rules. Later issues extend these dataclasses; they never fork them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class ColumnType(StrEnum):
    """The logical type of a feature or output column, and so its Arrow type on the wire."""

    FLOAT = "float"  # float64
    INT = "int"  # int64
    BOOL = "bool"  # bool
    CATEGORY = "category"  # dictionary-encoded utf8
    STRING = "string"  # utf8, not used for drift (free text, ids)

    @property
    def is_numeric(self) -> bool:
        return self in (ColumnType.FLOAT, ColumnType.INT)


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """A feature or an output of a model.

    Attributes:
        name: the column's name as the model sees it (``[A-Za-z_][A-Za-z0-9_]*``).
        type: its logical type.
        critical: drift on this column alone is worth an alert (used by alert generation).
        drift_statistic: overrides the model's drift statistic for this column.
        drift_threshold: overrides the model's drift threshold for this column.
    """

    name: str
    type: ColumnType
    critical: bool = False
    drift_threshold: float | None = None
    drift_statistic: str | None = None


class WindowKind(StrEnum):
    """How records are grouped into windows."""

    TUMBLING = "tumbling"  # fixed event-time windows, back to back
    SLIDING = "sliding"  # event-time windows of ``size`` starting every ``slide``
    COUNT = "count"  # every ``records`` predictions of a model version, in arrival order


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """How a model's predictions are grouped into windows.

    Attributes:
        kind: tumbling, sliding or count windows.
        size_seconds: width of an event-time window; windows are aligned to the Unix epoch.
        slide_seconds: sliding windows only: a window starts every this long (``size`` must be a
            whole multiple of it, so each record belongs to exactly ``size / slide`` windows).
        size_records: count windows only: the predictions in a window.
        allowed_lateness_seconds: how long after a window's end records may still arrive for it.
        idle_close_seconds: wall-clock grace after which a window closes even when no newer record
            arrives (a model that stopped sending still gets its last window).
    """

    size_seconds: float = 60.0
    allowed_lateness_seconds: float = 10.0
    idle_close_seconds: float = 30.0
    kind: WindowKind = WindowKind.TUMBLING
    slide_seconds: float | None = None
    size_records: int | None = None

    @property
    def step_seconds(self) -> float:
        """How far apart event-time windows start: the slide of sliding windows, else the size."""
        if self.kind is WindowKind.SLIDING and self.slide_seconds:
            return self.slide_seconds
        return self.size_seconds


@dataclass(frozen=True, slots=True)
class DriftSpec:
    """How drift is judged for a model.

    Attributes:
        statistic: the per-column statistic (see ``drift.core.statistics``), or ``auto`` for
            Evidently's default choice per column (by type, reference size and distinct values).
        threshold: the drift threshold; None uses each statistic's default (Evidently's).
        dataset_drift_share: the dataset drifts when at least this share of its columns drift.
        min_window_records: windows with fewer records report counts but no drift.
        multiple_testing: ``none``, ``bonferroni`` or ``benjamini_hochberg``: corrects the
            threshold of p-value tests for the number of columns tested in a window.
        consecutive_windows: dataset drift is alerting only after this many drifted windows in a row.
        multivariate: also score the numeric features together (PCA reconstruction error).
        domain_classifier: also train a classifier to tell the window's feature rows from a sample
            of the reference's (cross-validated ROC AUC); catches drift in how columns move together.
    """

    statistic: str = "auto"
    threshold: float | None = None
    dataset_drift_share: float = 0.5
    min_window_records: int = 30
    multiple_testing: str = "none"
    consecutive_windows: int = 1
    multivariate: bool = True
    domain_classifier: bool = True


@dataclass(frozen=True, slots=True)
class ReferenceSpec:
    """Where the reference of a model version comes from: a file, or the first records of traffic.

    Attributes:
        path: training data (CSV or Parquet), or a profile written by ``modelmon reference build``;
            absolute or relative to the catalog file.
        from_traffic: without a path: profile the first this-many live records of the version.
    """

    path: Path | None = None
    from_traffic: int | None = None


@dataclass(frozen=True, slots=True)
class SegmentSpec:
    """A column whose values split the model's metrics into segments.

    Attributes:
        column: a feature of type category, bool or string.
        max_cardinality: values beyond this many distinct ones go to an ``__other__`` segment.
    """

    column: str
    max_cardinality: int = 20


@dataclass(frozen=True, slots=True)
class SloSpec:
    """Service-level objectives that alerts and dashboards are built from.

    Attributes:
        latency_p99_seconds: 99th percentile of prediction latency must stay under this.
        error_ratio: share of calls that fail (a 5xx, or no answer) must stay under this.
        accuracy_min: realised or estimated accuracy must stay above this.
    """

    latency_p99_seconds: float | None = None
    error_ratio: float | None = None
    accuracy_min: float | None = None


class Task(StrEnum):
    """What a model predicts, and so which quality metrics it gets."""

    CLASSIFICATION = "classification"
    REGRESSION = "regression"


@dataclass(frozen=True, slots=True)
class QualitySpec:
    """How predictions are scored against ground-truth labels that arrive later.

    Attributes:
        task: classification or regression.
        label: the label's name: labels carry it as the ``label.<label>`` column.
        classes: classification: every class, as strings (the label's values).
        prediction: the output holding the predicted class or value; for a binary classifier it
            may be omitted when ``scores`` has the positive class's probability (then the predicted
            class is positive at ``threshold`` or above).
        scores: classification: per class, the output holding its predicted probability (all
            classes, or only the positive one of a binary classifier). Needed for ROC AUC, log loss
            and performance estimation before labels (CBPE).
        threshold: binary only: the probability at which the positive class is predicted.
        label_lateness_seconds: how long a prediction waits for its label (and a label for its
            prediction) before it is given up and counted.
    """

    task: Task
    label: str
    classes: tuple[str, ...] = ()
    prediction: str | None = None
    scores: dict[str, str] = field(default_factory=dict)
    threshold: float = 0.5
    label_lateness_seconds: float = 7 * 86_400.0

    @property
    def positive_class(self) -> str | None:
        """The positive class of a binary classifier (the second of ``classes``), else None."""
        return self.classes[1] if self.task is Task.CLASSIFICATION and len(self.classes) == 2 else None


@dataclass(frozen=True, slots=True)
class RetrainingTarget:
    """Where a retraining trigger goes when this model's alerts fire.

    Attributes:
        type: ``webhook``, ``tekton``, ``kubeflow``, ``argo`` or ``job``.
        url: the endpoint for HTTP-based targets.
        options: target-specific settings (pipeline id, namespace, template, ...).
        cooldown_seconds: at most one trigger per model in this period.
    """

    type: str
    url: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    cooldown_seconds: float = 3600.0


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One monitored model.

    Attributes:
        namespace: Kubernetes namespace of the model.
        name: the model's name, unique within its namespace.
        versions: known versions; records of other versions are still accepted.
        features: input columns.
        outputs: prediction columns.
        references: reference data per version (``"*"`` applies to any version not listed).
        window, drift, segments, slos, retraining, quality: see their classes (no ``quality``: no
            label join for the model).
    """

    namespace: str
    name: str
    versions: tuple[str, ...]
    features: tuple[ColumnSpec, ...]
    outputs: tuple[ColumnSpec, ...]
    references: dict[str, ReferenceSpec] = field(default_factory=dict)
    window: WindowSpec = field(default_factory=WindowSpec)
    drift: DriftSpec = field(default_factory=DriftSpec)
    segments: tuple[SegmentSpec, ...] = ()
    slos: SloSpec = field(default_factory=SloSpec)
    retraining: RetrainingTarget | None = None
    quality: QualitySpec | None = None

    @property
    def identity(self) -> str:
        """``namespace/name``: the Kafka message key and the join key of every component."""
        return f"{self.namespace}/{self.name}"

    @property
    def columns(self) -> tuple[ColumnSpec, ...]:
        """Features then outputs: everything drift is computed on."""
        return self.features + self.outputs

    def reference_for(self, version: str) -> ReferenceSpec | None:
        return self.references.get(version) or self.references.get("*")

    def drift_threshold_for(self, column: ColumnSpec) -> float | None:
        """The column's threshold, the model's, or None for the statistic's default."""
        return column.drift_threshold if column.drift_threshold is not None else self.drift.threshold

    def drift_statistic_for(self, column: ColumnSpec) -> str:
        return column.drift_statistic or self.drift.statistic


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every monitored model, by identity (``namespace/name``)."""

    models: dict[str, ModelSpec]
    source: Path | None = None

    def get(self, identity: str) -> ModelSpec | None:
        return self.models.get(identity)

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self.models.values())

    def __len__(self) -> int:
        return len(self.models)
