"""Parse the model catalog from YAML into the dataclasses of ``model.py``.

Every problem is collected, not just the first, and each names the model, the field, what was
expected and what was found. Unknown keys are errors: a typo must not silently become a default.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from agent.catalog.durations import parse_duration
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
from agent.errors import CatalogError, CatalogProblem

__all__ = ["load_catalog", "parse_catalog"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Kubernetes DNS-1123 label for namespaces and model names.
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_TARGET_TYPES = ("webhook", "tekton", "kubeflow", "argo", "job")
_CORRECTIONS = ("none", "bonferroni", "benjamini_hochberg")
_T = TypeVar("_T")


class _Problems:
    """Collects problems with the model they concern."""

    def __init__(self) -> None:
        self.items: list[CatalogProblem] = []
        self.model: str | None = None

    def add(self, field: str, expected: str, found: object) -> None:
        self.items.append(CatalogProblem(self.model, field, expected, found))


def load_catalog(path: str | Path) -> Catalog:
    """Read and validate a catalog file. Reference paths are resolved against the file's folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError([CatalogProblem(None, "(file)", "a readable file", str(exc))], str(path)) from exc
    return parse_catalog(text, source=path)


def parse_catalog(text: str, source: Path | None = None) -> Catalog:
    """Validate catalog YAML text. Raises :class:`CatalogError` listing every problem."""
    where = str(source) if source else None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogError([CatalogProblem(None, "(document)", "valid YAML", str(exc))], where) from exc
    problems = _Problems()
    base_dir = source.parent if source else Path.cwd()
    if not isinstance(doc, Mapping):
        raise CatalogError([CatalogProblem(None, "(document)", "a mapping", type(doc).__name__)], where)
    _check_keys(doc, {"apiVersion", "defaults", "models"}, "", problems)
    if doc.get("apiVersion", "modelmon.io/v1") != "modelmon.io/v1":
        problems.add("apiVersion", "'modelmon.io/v1'", doc.get("apiVersion"))
    defaults = doc.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        problems.add("defaults", "a mapping", defaults)
        defaults = {}
    _check_keys(defaults, {"window", "drift"}, "defaults.", problems)
    default_window = _window(defaults.get("window"), WindowSpec(), "defaults.window", problems)
    default_drift = _drift(defaults.get("drift"), DriftSpec(), "defaults.drift", problems)

    raw_models = doc.get("models")
    models: dict[str, ModelSpec] = {}
    if not isinstance(raw_models, list) or not raw_models:
        problems.add("models", "a non-empty list of models", raw_models)
        raw_models = []
    for index, raw in enumerate(raw_models):
        problems.model = _model_label(raw, index)
        model = _model(raw, default_window, default_drift, base_dir, problems)
        if model is not None:
            if model.identity in models:
                problems.add("name", "a namespace/name unique in the catalog", model.identity)
            models[model.identity] = model
    problems.model = None
    if problems.items:
        raise CatalogError(problems.items, where)
    return Catalog(models=models, source=source)


def _model_label(raw: object, index: int) -> str:
    if isinstance(raw, Mapping) and raw.get("name"):
        return f"{raw.get('namespace', '?')}/{raw.get('name')}"
    return f"models[{index}]"


def _check_keys(raw: Mapping[str, Any], allowed: set[str], prefix: str, problems: _Problems) -> None:
    for key in raw:
        if key not in allowed:
            problems.add(f"{prefix}{key}", f"one of {sorted(allowed)}", key)


def _get(
    raw: Mapping[str, Any],
    key: str,
    convert: Callable[[Any], _T],
    expected: str,
    default: _T,
    field: str,
    problems: _Problems,
) -> _T:
    if key not in raw or raw[key] is None:
        return default
    try:
        return convert(raw[key])
    except (TypeError, ValueError):
        problems.add(field, expected, raw[key])
        return default


def _positive_float(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError("bool")
    number = float(value)
    if not number > 0 or number == float("inf"):
        raise ValueError("not positive")
    return number


def _share(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError("bool")
    number = float(value)
    if not 0 < number <= 1:
        raise ValueError("not in (0, 1]")
    return number


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("not a boolean")
    return value


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("not a positive integer")
    return value


def _duration(value: Any) -> float:
    seconds = parse_duration(value)
    if seconds < 0:
        raise ValueError("negative")
    return seconds


def _positive_duration(value: Any) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError("not positive")
    return seconds


def _window(raw: Any, base: WindowSpec, field: str, problems: _Problems) -> WindowSpec:
    if raw is None:
        return base
    if not isinstance(raw, Mapping):
        problems.add(field, "a mapping", raw)
        return base
    _check_keys(
        raw, {"type", "size", "slide", "records", "allowed_lateness", "idle_close"}, f"{field}.", problems
    )
    duration = "a duration such as 60, '30s', '5m', '1h'"
    kinds = [k.value for k in WindowKind]
    kind = _get(raw, "type", WindowKind, f"one of {kinds}", base.kind, f"{field}.type", problems)
    spec = WindowSpec(
        kind=kind,
        size_seconds=_get(
            raw, "size", _positive_duration, duration, base.size_seconds, f"{field}.size", problems
        ),
        slide_seconds=_get(
            raw, "slide", _positive_duration, duration, base.slide_seconds, f"{field}.slide", problems
        ),
        size_records=_get(
            raw,
            "records",
            _positive_int,
            "a positive integer",
            base.size_records,
            f"{field}.records",
            problems,
        ),
        allowed_lateness_seconds=_get(
            raw,
            "allowed_lateness",
            _duration,
            duration,
            base.allowed_lateness_seconds,
            f"{field}.allowed_lateness",
            problems,
        ),
        idle_close_seconds=_get(
            raw, "idle_close", _duration, duration, base.idle_close_seconds, f"{field}.idle_close", problems
        ),
    )
    if spec.kind is WindowKind.SLIDING:
        slide = spec.slide_seconds
        if slide is None:
            problems.add(f"{field}.slide", "a duration for sliding windows", None)
        elif slide > spec.size_seconds or not _whole_multiple(spec.size_seconds, slide):
            problems.add(
                f"{field}.slide", f"a duration that divides size ({spec.size_seconds:g}s)", raw["slide"]
            )
    elif "slide" in raw:
        problems.add(f"{field}.slide", "absent unless type is sliding", raw["slide"])
    if spec.kind is WindowKind.COUNT and spec.size_records is None:
        problems.add(f"{field}.records", "a positive integer for count windows", None)
    elif spec.kind is not WindowKind.COUNT and "records" in raw:
        problems.add(f"{field}.records", "absent unless type is count", raw["records"])
    return spec


def _whole_multiple(size: float, slide: float) -> bool:
    ratio = size / slide
    return abs(ratio - round(ratio)) < 1e-9


def _drift(raw: Any, base: DriftSpec, field: str, problems: _Problems) -> DriftSpec:
    if raw is None:
        return base
    if not isinstance(raw, Mapping):
        problems.add(field, "a mapping", raw)
        return base
    _check_keys(
        raw,
        {
            "statistic",
            "threshold",
            "dataset_drift_share",
            "min_window_records",
            "multiple_testing",
            "consecutive_windows",
            "multivariate",
            "domain_classifier",
        },
        f"{field}.",
        problems,
    )
    statistic = (
        _statistic(raw.get("statistic", base.statistic), f"{field}.statistic", problems) or base.statistic
    )
    correction = raw.get("multiple_testing", base.multiple_testing)
    if correction not in _CORRECTIONS:
        problems.add(f"{field}.multiple_testing", f"one of {list(_CORRECTIONS)}", correction)
        correction = base.multiple_testing
    return DriftSpec(
        statistic=statistic,
        threshold=_get(
            raw,
            "threshold",
            _positive_float,
            "a positive number",
            base.threshold,
            f"{field}.threshold",
            problems,
        ),
        dataset_drift_share=_get(
            raw,
            "dataset_drift_share",
            _share,
            "a share in (0, 1]",
            base.dataset_drift_share,
            f"{field}.dataset_drift_share",
            problems,
        ),
        min_window_records=_get(
            raw,
            "min_window_records",
            _positive_int,
            "a positive integer",
            base.min_window_records,
            f"{field}.min_window_records",
            problems,
        ),
        multiple_testing=correction,
        multivariate=_get(
            raw,
            "multivariate",
            _boolean,
            "true or false",
            base.multivariate,
            f"{field}.multivariate",
            problems,
        ),
        domain_classifier=_get(
            raw,
            "domain_classifier",
            _boolean,
            "true or false",
            base.domain_classifier,
            f"{field}.domain_classifier",
            problems,
        ),
        consecutive_windows=_get(
            raw,
            "consecutive_windows",
            _positive_int,
            "a positive integer",
            base.consecutive_windows,
            f"{field}.consecutive_windows",
            problems,
        ),
    )


def _statistic(value: Any, field: str, problems: _Problems) -> str | None:
    # The registry is the aggregator's; the catalog only checks the name against the shared list.
    from agent.catalog.statistics import AUTO, KNOWN_STATISTICS

    if value is None:
        return None
    if value != AUTO and value not in KNOWN_STATISTICS:
        problems.add(field, f"'auto' or one of {sorted(KNOWN_STATISTICS)}", value)
        return None
    return str(value)


def _columns(raw: Any, field: str, problems: _Problems, *, required: bool) -> tuple[ColumnSpec, ...]:
    if raw is None and not required:
        return ()
    if not isinstance(raw, list) or (required and not raw):
        problems.add(field, "a non-empty list of columns" if required else "a list of columns", raw)
        return ()
    columns: list[ColumnSpec] = []
    types = ", ".join(t.value for t in ColumnType)
    for i, item in enumerate(raw):
        where = f"{field}[{i}]"
        if not isinstance(item, Mapping):
            problems.add(where, "a mapping with name and type", item)
            continue
        _check_keys(
            item, {"name", "type", "critical", "drift_threshold", "drift_statistic"}, f"{where}.", problems
        )
        name = item.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            problems.add(f"{where}.name", "an identifier ([A-Za-z_][A-Za-z0-9_]*)", name)
            continue
        where = f"{field}[{name}]"
        try:
            column_type = ColumnType(str(item.get("type")))
        except ValueError:
            problems.add(f"{where}.type", f"one of {types}", item.get("type"))
            continue
        critical = item.get("critical", False)
        if not isinstance(critical, bool):
            problems.add(f"{where}.critical", "true or false", critical)
            critical = False
        threshold = _get(
            item,
            "drift_threshold",
            _positive_float,
            "a positive number",
            None,
            f"{where}.drift_threshold",
            problems,
        )
        statistic = _statistic(item.get("drift_statistic"), f"{where}.drift_statistic", problems)
        columns.append(ColumnSpec(name, column_type, critical, threshold, statistic))
    return tuple(columns)


def _references(raw: Mapping[str, Any], base_dir: Path, problems: _Problems) -> dict[str, ReferenceSpec]:
    references: dict[str, ReferenceSpec] = {}

    def one(value: Any, field: str) -> ReferenceSpec | None:
        if isinstance(value, Mapping) and "from_traffic" in value and "path" not in value:
            _check_keys(value, {"from_traffic"}, f"{field}.", problems)
            count = _get(
                value,
                "from_traffic",
                _positive_int,
                "a positive integer",
                None,
                f"{field}.from_traffic",
                problems,
            )
            return ReferenceSpec(from_traffic=count) if count else None
        if not isinstance(value, Mapping) or not isinstance(value.get("path"), str) or not value["path"]:
            problems.add(
                field, "a mapping with a 'path' to a CSV or Parquet file, or 'from_traffic: N'", value
            )
            return None
        _check_keys(value, {"path"}, f"{field}.", problems)
        path = Path(value["path"])
        if path.suffix.lower() not in (".csv", ".parquet", ".pq"):
            problems.add(f"{field}.path", "a .csv or .parquet file", value["path"])
        return ReferenceSpec(path if path.is_absolute() else (base_dir / path))

    if "reference" in raw and raw["reference"] is not None:
        spec = one(raw["reference"], "reference")
        if spec:
            references["*"] = spec
    per_version = raw.get("references")
    if per_version is not None:
        if not isinstance(per_version, Mapping):
            problems.add("references", "a mapping of version to reference", per_version)
        else:
            for version, value in per_version.items():
                spec = one(value, f"references[{version}]")
                if spec:
                    references[str(version)] = spec
    return references


def _segments(raw: Any, features: tuple[ColumnSpec, ...], problems: _Problems) -> tuple[SegmentSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.add("segments", "a list of {column, max_cardinality}", raw)
        return ()
    by_name = {c.name: c for c in features}
    segments: list[SegmentSpec] = []
    for i, item in enumerate(raw):
        field = f"segments[{i}]"
        if not isinstance(item, Mapping):
            problems.add(field, "a mapping with a 'column'", item)
            continue
        _check_keys(item, {"column", "max_cardinality"}, f"{field}.", problems)
        column = item.get("column")
        spec = by_name.get(column) if isinstance(column, str) else None
        if spec is None:
            problems.add(f"{field}.column", f"one of the model's features {sorted(by_name)}", column)
            continue
        if spec.type not in (ColumnType.CATEGORY, ColumnType.BOOL, ColumnType.STRING, ColumnType.INT):
            problems.add(
                f"{field}.column", "a category, bool, string or int feature", f"{column} ({spec.type})"
            )
            continue
        cap = _get(
            item,
            "max_cardinality",
            _positive_int,
            "a positive integer",
            20,
            f"{field}.max_cardinality",
            problems,
        )
        segments.append(SegmentSpec(str(column), cap))
    return tuple(segments)


def _slos(raw: Any, problems: _Problems) -> SloSpec:
    if raw is None:
        return SloSpec()
    if not isinstance(raw, Mapping):
        problems.add("slos", "a mapping", raw)
        return SloSpec()
    _check_keys(raw, {"latency_p99", "error_ratio", "accuracy_min"}, "slos.", problems)
    return SloSpec(
        latency_p99_seconds=_get(
            raw,
            "latency_p99",
            _positive_duration,
            "a duration such as '250ms'",
            None,
            "slos.latency_p99",
            problems,
        ),
        error_ratio=_get(raw, "error_ratio", _share, "a share in (0, 1]", None, "slos.error_ratio", problems),
        accuracy_min=_get(
            raw, "accuracy_min", _share, "a share in (0, 1]", None, "slos.accuracy_min", problems
        ),
    )


def _retraining(raw: Any, problems: _Problems) -> RetrainingTarget | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        problems.add("retraining", "a mapping with a 'type'", raw)
        return None
    _check_keys(raw, {"type", "url", "options", "cooldown"}, "retraining.", problems)
    target_type = raw.get("type")
    if target_type not in _TARGET_TYPES:
        problems.add("retraining.type", f"one of {list(_TARGET_TYPES)}", target_type)
        return None
    url = raw.get("url")
    if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
        problems.add("retraining.url", "an http:// or https:// URL", url)
        url = None
    if target_type != "job" and url is None:
        problems.add("retraining.url", f"a URL (required for type {target_type})", raw.get("url"))
    options = raw.get("options") or {}
    if not isinstance(options, Mapping):
        problems.add("retraining.options", "a mapping of strings", options)
        options = {}
    cooldown = _get(
        raw, "cooldown", _duration, "a duration such as '1h'", 3600.0, "retraining.cooldown", problems
    )
    return RetrainingTarget(
        type=target_type,
        url=url,
        options={str(k): str(v) for k, v in options.items()},
        cooldown_seconds=cooldown,
    )


def _quality(raw: Any, outputs: tuple[ColumnSpec, ...], problems: _Problems) -> QualitySpec | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        problems.add("quality", "a mapping with task, label, prediction / scores", raw)
        return None
    _check_keys(
        raw,
        {"task", "label", "classes", "prediction", "scores", "threshold", "label_lateness"},
        "quality.",
        problems,
    )
    task = _get(raw, "task", Task, f"one of {[t.value for t in Task]}", None, "quality.task", problems)
    label = raw.get("label")
    if not isinstance(label, str) or not _NAME.match(label):
        problems.add("quality.label", "the label's column name", label)
    output_names = {c.name for c in outputs}
    prediction = raw.get("prediction")
    if prediction is not None and prediction not in output_names:
        problems.add("quality.prediction", f"one of the outputs {sorted(output_names)}", prediction)
    classes_raw = raw.get("classes", [])
    classes: tuple[str, ...] = ()
    if not isinstance(classes_raw, list) or len({str(c) for c in classes_raw}) != len(classes_raw):
        problems.add("quality.classes", "a list of distinct classes", classes_raw)
    else:
        classes = tuple(str(c) for c in classes_raw)
    scores_raw = raw.get("scores") or {}
    scores: dict[str, str] = {}
    if not isinstance(scores_raw, Mapping):
        problems.add("quality.scores", "a mapping of class to probability output", scores_raw)
    else:
        scores = {str(k): str(v) for k, v in scores_raw.items()}
        for cls, output in scores.items():
            if output not in output_names:
                problems.add(f"quality.scores[{cls}]", f"one of the outputs {sorted(output_names)}", output)
            if cls not in classes:
                problems.add(f"quality.scores[{cls}]", f"a class of {list(classes)}", cls)
    if task is Task.CLASSIFICATION:
        if len(classes) < 2:
            problems.add("quality.classes", "at least two classes", classes_raw)
        binary_by_score = len(classes) == 2 and classes[1] in scores
        if prediction is None and not binary_by_score and set(scores) != set(classes):
            problems.add(
                "quality.prediction",
                "an output (or scores for every class, or the positive one of two)",
                None,
            )
    elif task is Task.REGRESSION and prediction is None:
        problems.add("quality.prediction", "the output holding the predicted value", None)
    threshold = _get(raw, "threshold", _share, "a probability in (0, 1]", 0.5, "quality.threshold", problems)
    lateness = _get(
        raw,
        "label_lateness",
        _positive_duration,
        "a duration such as '7d'",
        7 * 86_400.0,
        "quality.label_lateness",
        problems,
    )
    if task is None or not isinstance(label, str):
        return None
    return QualitySpec(task, label, classes, prediction, scores, threshold, lateness)


def _model(
    raw: Any, window: WindowSpec, drift: DriftSpec, base_dir: Path, problems: _Problems
) -> ModelSpec | None:
    if not isinstance(raw, Mapping):
        problems.add("(model)", "a mapping", raw)
        return None
    _check_keys(
        raw,
        {
            "namespace",
            "name",
            "versions",
            "features",
            "outputs",
            "reference",
            "references",
            "window",
            "drift",
            "segments",
            "slos",
            "retraining",
            "quality",
        },
        "",
        problems,
    )
    ok = True
    for key in ("namespace", "name"):
        value = raw.get(key)
        if not isinstance(value, str) or not _DNS_LABEL.match(value) or len(value) > 63:
            problems.add(key, "a DNS-1123 label (lower-case letters, digits, '-', at most 63)", value)
            ok = False
    versions_raw = raw.get("versions", ["*"])
    versions: tuple[str, ...] = ()
    if not isinstance(versions_raw, list) or not versions_raw:
        problems.add("versions", "a non-empty list of version strings", versions_raw)
    else:
        for v in versions_raw:
            if not (isinstance(v, str | int) and (str(v) == "*" or _VERSION.match(str(v)))):
                problems.add("versions", "version strings ([A-Za-z0-9._-], at most 63)", v)
        versions = tuple(str(v) for v in versions_raw)
    features = _columns(raw.get("features"), "features", problems, required=True)
    outputs = _columns(raw.get("outputs"), "outputs", problems, required=False)
    names = [c.name for c in features + outputs]
    for name in {n for n in names if names.count(n) > 1}:
        problems.add(f"features/outputs[{name}]", "column names unique across features and outputs", name)
    model_drift = _drift(raw.get("drift"), drift, "drift", problems)
    model = ModelSpec(
        namespace=str(raw.get("namespace")),
        name=str(raw.get("name")),
        versions=versions,
        features=features,
        outputs=outputs,
        references=_references(raw, base_dir, problems),
        window=_window(raw.get("window"), window, "window", problems),
        drift=model_drift,
        segments=_segments(raw.get("segments"), features, problems),
        slos=_slos(raw.get("slos"), problems),
        retraining=_retraining(raw.get("retraining"), problems),
        quality=_quality(raw.get("quality"), outputs, problems),
    )
    return model if ok else None
