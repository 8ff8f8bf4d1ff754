"""Every Prometheus metric modelmon exports: name, type, help, unit and labels, in one place.

The exporter builds its families from these specs, the dashboard and alert generators build their
queries from them, so no metric name is ever typed twice. Names follow Prometheus conventions:
``modelmon_`` prefix, base units, ``_total`` for counters, ``_ratio`` for shares, ``_seconds``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "AGENT_METRICS",
    "ALL_METRICS",
    "LATENCY_BUCKETS",
    "MODEL_LABELS",
    "RETRAIN_METRICS",
    "WINDOW_LABELS",
    "MetricSpec",
    "MetricType",
    "le_label",
    "selector",
]

MetricType = Literal["gauge", "counter", "summary", "histogram"]


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One exported metric family."""

    name: str
    type: MetricType
    help: str
    labels: tuple[str, ...]
    unit: str = ""


MODEL_LABELS: Final = ("namespace", "model", "version")
# Fixed latency buckets (seconds), the same on every pod, so histograms add up across them.
LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


# labels the exposition adds to a family's samples: a histogram's bucket bound, a summary's quantile
_SAMPLE_LABELS: Final = {"histogram": ("le",), "summary": ("quantile",)}


def selector(spec: MetricSpec, matchers: dict[str, str] | None = None, suffix: str = "") -> str:
    """``name{label="value", …}``; a value starting ``=~``, ``!~`` or ``!=`` keeps its operator. Only
    labels the spec has are allowed, so a renamed label breaks generation, not a dashboard or a rule."""
    parts = []
    for label, value in (matchers or {}).items():
        if label not in (*spec.labels, *_SAMPLE_LABELS.get(spec.type, ())):
            raise ValueError(f"{spec.name} has no label {label!r} (it has {spec.labels})")
        operator, text = (value[:2], value[2:]) if value[:2] in ("=~", "!~", "!=") else ("=", value)
        parts.append(f'{label}{operator}"{text}"')
    name = spec.name + suffix
    return f"{name}{{{', '.join(parts)}}}" if parts else name


def le_label(bound: float) -> str:
    """A bucket bound as its ``le`` label value ("0.25", "1.0"): exporters and alert rules must agree."""
    return repr(float(bound))


# ``segment`` is empty for the whole model version, else ``column=value`` (``column=__other__`` past
# the segment's cardinality cap): select ``segment=""`` to avoid counting a window twice.
WINDOW_LABELS: Final = (*MODEL_LABELS, "segment")
_COLUMN_LABELS: Final = (*WINDOW_LABELS, "feature", "role", "statistic")

# --- window results of the aggregator -------------------------------------------------------
FEATURE_DRIFT_SCORE: Final = MetricSpec(
    "modelmon_feature_drift_score",
    "gauge",
    "Drift score of a feature or output in the model's last closed window, against its reference.",
    _COLUMN_LABELS,
)
FEATURE_DRIFT_P_VALUE: Final = MetricSpec(
    "modelmon_feature_drift_p_value",
    "gauge",
    "p-value of the column's drift test in the last closed window (tests only; small means drift).",
    _COLUMN_LABELS,
)
FEATURE_DRIFT_THRESHOLD: Final = MetricSpec(
    "modelmon_feature_drift_threshold",
    "gauge",
    "Score at or above which the column counts as drifted.",
    _COLUMN_LABELS,
)
FEATURE_DRIFT_DETECTED: Final = MetricSpec(
    "modelmon_feature_drift_detected",
    "gauge",
    "1 when the column drifted in the last closed window, else 0.",
    _COLUMN_LABELS,
)
DATASET_DRIFT_SHARE: Final = MetricSpec(
    "modelmon_dataset_drift_share_ratio",
    "gauge",
    "Share of the model's columns that drifted in the last closed window.",
    WINDOW_LABELS,
    "ratio",
)
DATASET_DRIFT_DETECTED: Final = MetricSpec(
    "modelmon_dataset_drift_detected",
    "gauge",
    "1 when the drifted share reached the model's dataset drift share, else 0.",
    WINDOW_LABELS,
)
DATASET_DRIFT_STREAK: Final = MetricSpec(
    "modelmon_dataset_drift_streak_windows",
    "gauge",
    "Consecutive closed windows with dataset drift, up to the last one.",
    WINDOW_LABELS,
)
DATASET_DRIFT_SUSTAINED: Final = MetricSpec(
    "modelmon_dataset_drift_sustained",
    "gauge",
    "1 when the drift streak reached the model's consecutive_windows (hysteresis), else 0.",
    WINDOW_LABELS,
)
MULTIVARIATE_DRIFT_SCORE: Final = MetricSpec(
    "modelmon_multivariate_drift_score",
    "gauge",
    "Multivariate drift of the features in the last closed window: PCA reconstruction error, or the domain classifier's ROC AUC.",
    (*WINDOW_LABELS, "method"),
)
MULTIVARIATE_DRIFT_UPPER: Final = MetricSpec(
    "modelmon_multivariate_drift_upper_bound",
    "gauge",
    "Above this the multivariate score is drift: mean + 3σ/√n of held-out reference errors (PCA), or 0.5 + 3 sd of the AUC under no drift (domain classifier).",
    (*WINDOW_LABELS, "method"),
)
MULTIVARIATE_DRIFT_DETECTED: Final = MetricSpec(
    "modelmon_multivariate_drift_detected",
    "gauge",
    "1 when the multivariate score left the reference's band, else 0.",
    (*WINDOW_LABELS, "method"),
)
WINDOW_RECORDS: Final = MetricSpec(
    "modelmon_window_records",
    "gauge",
    "Predictions in the model's last closed window.",
    WINDOW_LABELS,
)
WINDOW_ERROR_RATIO: Final = MetricSpec(
    "modelmon_window_error_ratio",
    "gauge",
    "Share of predictions with a status code of 400 or more in the last closed window.",
    WINDOW_LABELS,
    "ratio",
)
WINDOW_LATENCY: Final = MetricSpec(
    "modelmon_window_latency_seconds",
    "summary",
    "Prediction latency quantiles of the model's last closed window.",
    WINDOW_LABELS,
    "seconds",
)
WINDOW_END: Final = MetricSpec(
    "modelmon_window_end_timestamp_seconds",
    "gauge",
    "Event-time end of the model's last closed window (Unix time).",
    WINDOW_LABELS,
    "seconds",
)
PREDICTIONS: Final = MetricSpec(
    "modelmon_predictions_total",
    "counter",
    "Predictions counted in closed windows since the aggregator started (each once, though sliding windows overlap).",
    WINDOW_LABELS,
)
WINDOWS_CLOSED: Final = MetricSpec(
    "modelmon_windows_closed_total",
    "counter",
    "Windows closed and published since the aggregator started.",
    WINDOW_LABELS,
)

SEGMENT_OVERFLOW: Final = MetricSpec(
    "modelmon_segment_overflow_records_total",
    "counter",
    "Records put in a segment column's __other__ segment because their value is beyond its cardinality cap.",
    (*MODEL_LABELS, "segment_column"),
)

# --- realized quality from late labels -------------------------------------------------------
QUALITY_METRIC: Final = MetricSpec(
    "modelmon_quality_metric",
    "gauge",
    "Realized quality of the latest labelled window of prediction time (accuracy, f1_macro, roc_auc, log_loss, mae, rmse, ...), by metric.",
    (*WINDOW_LABELS, "metric"),
)
QUALITY_CLASS_METRIC: Final = MetricSpec(
    "modelmon_quality_class_metric",
    "gauge",
    "Per-class precision, recall and F1 of the latest labelled window, by class and metric.",
    (*WINDOW_LABELS, "class", "metric"),
)
QUALITY_CONFUSION: Final = MetricSpec(
    "modelmon_quality_confusion_records",
    "gauge",
    "Confusion matrix of the latest labelled window: labelled predictions by true and predicted class.",
    (*WINDOW_LABELS, "true_class", "predicted_class"),
)
QUALITY_LABEL_COVERAGE: Final = MetricSpec(
    "modelmon_quality_label_coverage_ratio",
    "gauge",
    "Share of the latest labelled window's predictions that have a label so far.",
    WINDOW_LABELS,
    "ratio",
)
QUALITY_LABELLED: Final = MetricSpec(
    "modelmon_quality_labelled_records",
    "gauge",
    "Labelled predictions the latest labelled window's quality is computed from.",
    WINDOW_LABELS,
)
QUALITY_WINDOW_END: Final = MetricSpec(
    "modelmon_quality_window_end_timestamp_seconds",
    "gauge",
    "End (prediction event time) of the window the quality metrics describe (Unix time).",
    WINDOW_LABELS,
    "seconds",
)
QUALITY_ESTIMATE: Final = MetricSpec(
    "modelmon_quality_estimate",
    "gauge",
    "Quality of the model's last closed window estimated from its scores before labels arrive (CBPE), by metric.",
    (*WINDOW_LABELS, "metric"),
)
QUALITY_ESTIMATE_LOWER: Final = MetricSpec(
    "modelmon_quality_estimate_lower",
    "gauge",
    "Lower end of the estimate's band (3 sampling errors, from the reference's spread).",
    (*WINDOW_LABELS, "metric"),
)
QUALITY_ESTIMATE_UPPER: Final = MetricSpec(
    "modelmon_quality_estimate_upper",
    "gauge",
    "Upper end of the estimate's band.",
    (*WINDOW_LABELS, "metric"),
)
QUALITY_ESTIMATE_ERROR: Final = MetricSpec(
    "modelmon_quality_estimate_error",
    "gauge",
    "Realized minus estimated metric of the latest window that has both (the estimate, reconciled with the labels).",
    (*WINDOW_LABELS, "metric"),
)
LABEL_JOIN_EVENTS: Final = MetricSpec(
    "modelmon_label_join_events_total",
    "counter",
    "Label join events: predictions and labels received, joined, duplicates, and those given up past the lateness bound.",
    ("namespace", "model", "event"),
)
LABEL_JOIN_PENDING: Final = MetricSpec(
    "modelmon_label_join_pending_records",
    "gauge",
    "Predictions waiting for their label, and labels waiting for their prediction.",
    ("namespace", "model", "kind"),
)
LABEL_DELAY: Final = MetricSpec(
    "modelmon_label_delay_seconds",
    "histogram",
    "Time from a prediction to its label's arrival (label event time minus prediction event time).",
    ("namespace", "model"),
    "seconds",
)
PREDICTION_LATENCY: Final = MetricSpec(
    "modelmon_prediction_latency_seconds",
    "histogram",
    "Prediction latency with fixed buckets, aggregatable across pods and models, by status class (2xx, 4xx, 5xx, none).",
    (*MODEL_LABELS, "status_class"),
    "seconds",
)

LABEL_API_REQUESTS: Final = MetricSpec(
    "modelmon_label_api_requests_total",
    "counter",
    "Requests to the aggregator's HTTP label endpoint, by status code.",
    ("code",),
)
LABEL_API_LABELS: Final = MetricSpec(
    "modelmon_label_api_labels_total",
    "counter",
    "Labels received by the HTTP endpoint: accepted, or rejected with the reason.",
    ("outcome", "reason"),
)

# --- the aggregator's own health ---------------------------------------------------------------
AGGREGATOR_MESSAGES: Final = MetricSpec(
    "modelmon_aggregator_messages_total",
    "counter",
    "Kafka messages consumed.",
    ("topic",),
)
AGGREGATOR_MESSAGES_REJECTED: Final = MetricSpec(
    "modelmon_aggregator_messages_rejected_total",
    "counter",
    "Kafka messages rejected whole, by reason.",
    ("topic", "reason"),
)
AGGREGATOR_RECORDS_REJECTED: Final = MetricSpec(
    "modelmon_aggregator_records_rejected_total",
    "counter",
    "Records rejected inside accepted messages, by reason (late, null_required).",
    ("topic", "reason"),
)
AGGREGATOR_OPEN_WINDOWS: Final = MetricSpec(
    "modelmon_aggregator_open_windows",
    "gauge",
    "Windows being filled.",
    (),
)
AGGREGATOR_PARTITIONS: Final = MetricSpec(
    "modelmon_aggregator_assigned_partitions",
    "gauge",
    "Partitions assigned to this aggregator.",
    ("topic",),
)
AGGREGATOR_LAG: Final = MetricSpec(
    "modelmon_aggregator_consumer_lag_records",
    "gauge",
    "Records between this aggregator's position and the partition's end.",
    ("topic", "partition"),
)
AGGREGATOR_SINK_FAILURES: Final = MetricSpec(
    "modelmon_aggregator_sink_failures_total",
    "counter",
    "Closed windows a sink failed to take (e.g. the window archive's disk is full), by sink.",
    ("sink",),
)
AGGREGATOR_COMMITS: Final = MetricSpec(
    "modelmon_aggregator_commits_total",
    "counter",
    "Offset commits after published windows.",
    ("topic",),
)

# --- the sidecar agent (one per model pod) ---------------------------------------------------
AGENT_LABELS: Final = MODEL_LABELS
AGENT_CALLS: Final = MetricSpec(
    "modelmon_agent_calls_total",
    "counter",
    "Calls the agent forwarded to the model, captured or not, by status class (error: no response).",
    (*AGENT_LABELS, "status_class"),
)
AGENT_REQUEST_DURATION: Final = MetricSpec(
    "modelmon_agent_request_duration_seconds",
    "histogram",
    "Time from a request's head to the model response's last byte, as the agent saw it.",
    (*AGENT_LABELS, "status_class"),
    "seconds",
)
AGENT_UPSTREAM_ERRORS: Final = MetricSpec(
    "modelmon_agent_upstream_errors_total",
    "counter",
    "Calls the model did not answer: connect (not listening), closed or reset mid-call.",
    (*AGENT_LABELS, "reason"),
)
AGENT_PASSTHROUGH: Final = MetricSpec(
    "modelmon_agent_passthrough_connections_total",
    "counter",
    "Connections passed to the model unparsed: protocol upgrades and bytes that are not HTTP.",
    (*AGENT_LABELS, "reason"),
)
AGENT_CAPTURED_CALLS: Final = MetricSpec(
    "modelmon_agent_captured_calls_total",
    "counter",
    "Calls captured (sampled and queued), whether their bodies gave rows or metadata only.",
    AGENT_LABELS,
)
AGENT_CAPTURED_ROWS: Final = MetricSpec(
    "modelmon_agent_captured_rows_total",
    "counter",
    "Rows captured: one per instance of a batched call, one per call kept as metadata only.",
    AGENT_LABELS,
)
AGENT_UNPARSED: Final = MetricSpec(
    "modelmon_agent_unparsed_calls_total",
    "counter",
    "Captured calls kept as metadata only (size, status, latency), by why their bodies gave no rows.",
    (*AGENT_LABELS, "reason"),
)
AGENT_DROPPED: Final = MetricSpec(
    "modelmon_agent_dropped_records_total",
    "counter",
    "Records the agent did not deliver, by reason: queue_full (a call), publisher_queue_full, "
    "spool_full, spool_error, delivery_failed, encode_error, capture_error.",
    (*AGENT_LABELS, "reason"),
)
AGENT_PUBLISHED: Final = MetricSpec(
    "modelmon_agent_published_records_total",
    "counter",
    "Records Kafka acknowledged, directly or replayed from the spool.",
    AGENT_LABELS,
)
AGENT_SPOOLED: Final = MetricSpec(
    "modelmon_agent_spooled_records_total",
    "counter",
    "Records written to the disk spool because Kafka was slow or down.",
    AGENT_LABELS,
)
AGENT_REPLAYED: Final = MetricSpec(
    "modelmon_agent_replayed_records_total",
    "counter",
    "Records sent from the spool once Kafka was back.",
    AGENT_LABELS,
)
AGENT_QUEUE_DEPTH: Final = MetricSpec(
    "modelmon_agent_queue_depth",
    "gauge",
    "What waits in each stage: calls to parse (capture), rows to batch (batcher), records to send (publisher).",
    (*AGENT_LABELS, "queue"),
)
AGENT_SPOOL_BYTES: Final = MetricSpec(
    "modelmon_agent_spool_bytes",
    "gauge",
    "Bytes in the disk spool waiting to be replayed.",
    AGENT_LABELS,
    "bytes",
)
AGENT_SPOOL_LIMIT: Final = MetricSpec(
    "modelmon_agent_spool_limit_bytes",
    "gauge",
    "The disk spool's bound: past it new records are dropped (spool_full); alerts compare the spool with it.",
    AGENT_LABELS,
    "bytes",
)
AGENT_PUBLISH_LATENCY: Final = MetricSpec(
    "modelmon_agent_publish_latency_seconds",
    "histogram",
    "Time from handing a message to Kafka to its acknowledgement.",
    AGENT_LABELS,
    "seconds",
)
AGENT_MODEL_READY: Final = MetricSpec(
    "modelmon_agent_model_ready",
    "gauge",
    "1 when the model answered the agent's last readiness check, else 0.",
    AGENT_LABELS,
)
AGENT_HARDWARE_CYCLES: Final = MetricSpec(
    "modelmon_agent_hardware_cycles_total",
    "counter",
    "Hardware collection cycles run (samples published to the hardware topic).",
    AGENT_LABELS,
)
AGENT_COLLECTOR_FAILURES: Final = MetricSpec(
    "modelmon_agent_collector_failures_total",
    "counter",
    "Collection cycles in which a collector failed (the others still reported), by collector.",
    (*AGENT_LABELS, "collector"),
)
AGENT_METRICS: Final = (
    AGENT_CALLS,
    AGENT_REQUEST_DURATION,
    AGENT_UPSTREAM_ERRORS,
    AGENT_PASSTHROUGH,
    AGENT_CAPTURED_CALLS,
    AGENT_CAPTURED_ROWS,
    AGENT_UNPARSED,
    AGENT_DROPPED,
    AGENT_PUBLISHED,
    AGENT_SPOOLED,
    AGENT_REPLAYED,
    AGENT_QUEUE_DEPTH,
    AGENT_SPOOL_BYTES,
    AGENT_SPOOL_LIMIT,
    AGENT_PUBLISH_LATENCY,
    AGENT_MODEL_READY,
    AGENT_HARDWARE_CYCLES,
    AGENT_COLLECTOR_FAILURES,
)

# --- hardware of the model's pod (collectors → agent → aggregator) ----------------------------
HARDWARE_LABELS: Final = (*MODEL_LABELS, "pod")
_CONTAINER: Final = (*HARDWARE_LABELS, "container")
_GPU: Final = (*HARDWARE_LABELS, "gpu", "gpu_uuid", "gpu_model", "source")


def _hw(name: str, kind: MetricType, help_text: str, labels: tuple[str, ...], unit: str = "") -> MetricSpec:
    return MetricSpec(f"modelmon_{name}", kind, help_text, labels, unit)


HARDWARE_METRICS: Final = (
    _hw("container_cpu_usage_seconds_total", "counter", "CPU time of the container (cgroup).", _CONTAINER),
    _hw("container_cpu_periods_total", "counter", "CFS enforcement periods of the container.", _CONTAINER),
    _hw(
        "container_cpu_throttled_periods_total",
        "counter",
        "Periods the container was throttled in.",
        _CONTAINER,
    ),
    _hw(
        "container_cpu_throttled_seconds_total",
        "counter",
        "Time the container was throttled for.",
        _CONTAINER,
    ),
    _hw(
        "container_cpu_limit_cores",
        "gauge",
        "The container's CPU limit (quota / period).",
        _CONTAINER,
        "cores",
    ),
    _hw("container_memory_usage_bytes", "gauge", "Memory charged to the container.", _CONTAINER, "bytes"),
    _hw(
        "container_memory_working_set_bytes",
        "gauge",
        "Memory the kubelet evicts on: usage minus inactive file pages.",
        _CONTAINER,
        "bytes",
    ),
    _hw("container_memory_rss_bytes", "gauge", "Anonymous memory of the container.", _CONTAINER, "bytes"),
    _hw("container_memory_limit_bytes", "gauge", "The container's memory limit.", _CONTAINER, "bytes"),
    _hw(
        "container_oom_kills_total",
        "counter",
        "Processes of the container the OOM killer killed.",
        _CONTAINER,
    ),
    _hw(
        "model_process_cpu_seconds_total",
        "counter",
        "CPU time of the model server's processes.",
        HARDWARE_LABELS,
    ),
    _hw(
        "model_process_resident_memory_bytes",
        "gauge",
        "Resident memory of the model server's processes.",
        HARDWARE_LABELS,
        "bytes",
    ),
    _hw("model_process_threads", "gauge", "Threads of the model server's processes.", HARDWARE_LABELS),
    _hw(
        "model_process_open_fds",
        "gauge",
        "Open file descriptors of the model server's processes.",
        HARDWARE_LABELS,
    ),
    _hw("model_processes", "gauge", "The model server's process and its workers.", HARDWARE_LABELS),
    _hw("gpu_utilization_ratio", "gauge", "Share of time a kernel ran on the GPU.", _GPU, "ratio"),
    _hw(
        "gpu_memory_utilization_ratio",
        "gauge",
        "Share of time GPU memory was read or written.",
        _GPU,
        "ratio",
    ),
    _hw("gpu_memory_used_bytes", "gauge", "GPU memory in use, all processes.", _GPU, "bytes"),
    _hw("gpu_memory_total_bytes", "gauge", "GPU memory installed.", _GPU, "bytes"),
    _hw("gpu_power_watts", "gauge", "GPU power draw.", _GPU, "watts"),
    _hw("gpu_temperature_celsius", "gauge", "GPU core temperature.", _GPU, "celsius"),
    _hw("gpu_sm_clock_hertz", "gauge", "GPU streaming-multiprocessor clock.", _GPU, "hertz"),
    _hw(
        "gpu_throttled", "gauge", "1 while the GPU's clocks are held down for this reason.", (*_GPU, "reason")
    ),
    _hw("gpu_ecc_errors_total", "counter", "GPU memory ECC errors since the driver loaded.", (*_GPU, "type")),
    _hw("gpu_model_processes", "gauge", "This pod's model processes on the GPU.", _GPU),
    _hw(
        "gpu_model_memory_used_bytes",
        "gauge",
        "GPU memory used by this pod's model processes.",
        _GPU,
        "bytes",
    ),
    _hw(
        "gpu_model_sm_utilization_ratio",
        "gauge",
        "This pod's share of the GPU's SM time over the last sampling period (a shared GPU's attribution).",
        _GPU,
        "ratio",
    ),
)
# by the collectors' own name (``Sample.metric``): the spec a sample is exported under
HARDWARE_METRIC: Final = {spec.name.removeprefix("modelmon_"): spec for spec in HARDWARE_METRICS}
HARDWARE_SAMPLES_REJECTED: Final = MetricSpec(
    "modelmon_hardware_samples_rejected_total",
    "counter",
    "Hardware samples the aggregator did not export, by reason (unknown_metric, unknown_model, malformed).",
    ("reason",),
)

# --- the sidecar injector (mutating admission webhook) -------------------------------------------
INJECTOR_REVIEWS: Final = MetricSpec(
    "modelmon_injector_reviews_total",
    "counter",
    "AdmissionReviews answered, by outcome: injected, not_requested, opted_out, already_injected, "
    "skipped_namespace, host_network, invalid, not_a_pod, error (every one admitted).",
    ("outcome",),
)
INJECTOR_REQUESTS_REJECTED: Final = MetricSpec(
    "modelmon_injector_requests_rejected_total",
    "counter",
    "Requests to the injector that were no AdmissionReview, by reason (malformed, too_large, not_found).",
    ("reason",),
)
INJECTOR_TLS_RELOADS: Final = MetricSpec(
    "modelmon_injector_certificate_reloads_total",
    "counter",
    "Times the serving certificate was reloaded after its files changed (rotation).",
    (),
)
INJECTOR_METRICS: Final = (INJECTOR_REVIEWS, INJECTOR_REQUESTS_REJECTED, INJECTOR_TLS_RELOADS)

# --- the retraining service ----------------------------------------------------------------------
RETRAIN_REQUESTS: Final = MetricSpec(
    "modelmon_retrain_requests_total",
    "counter",
    "HTTP requests to the retraining service, by endpoint and status code.",
    ("endpoint", "code"),
)
RETRAIN_REJECTED: Final = MetricSpec(
    "modelmon_retrain_requests_rejected_total",
    "counter",
    "Requests refused before anything was stored, by reason (missing_token, wrong_token, bad_signature, "
    "stale_timestamp, too_large, malformed, unsupported_media_type, length_required).",
    ("reason",),
)
RETRAIN_ALERTS: Final = MetricSpec(
    "modelmon_retrain_alerts_total",
    "counter",
    "Alerts received, by what became of them: triggered, in_flight, cooldown, duplicate, resolved, "
    "not_configured, unknown_model.",
    ("outcome",),
)
RETRAIN_DELIVERIES: Final = MetricSpec(
    "modelmon_retrain_delivery_attempts_total",
    "counter",
    "Attempts to deliver a trigger to its target, by target type and outcome (delivered, retry, failed).",
    ("target", "outcome"),
)
RETRAIN_TRIGGERS: Final = MetricSpec(
    "modelmon_retrain_triggers",
    "gauge",
    "Triggers in the outbox, by state (pending, running, completed, timed_out, failed).",
    ("state",),
)
RETRAIN_OLDEST_PENDING: Final = MetricSpec(
    "modelmon_retrain_oldest_pending_age_seconds",
    "gauge",
    "Age of the oldest trigger not yet delivered (0 when none waits).",
    (),
    "seconds",
)
RETRAIN_METRICS: Final = (
    RETRAIN_REQUESTS,
    RETRAIN_REJECTED,
    RETRAIN_ALERTS,
    RETRAIN_DELIVERIES,
    RETRAIN_TRIGGERS,
    RETRAIN_OLDEST_PENDING,
)

ALL_METRICS: Final = (
    FEATURE_DRIFT_SCORE,
    FEATURE_DRIFT_P_VALUE,
    FEATURE_DRIFT_THRESHOLD,
    FEATURE_DRIFT_DETECTED,
    DATASET_DRIFT_SHARE,
    DATASET_DRIFT_DETECTED,
    DATASET_DRIFT_STREAK,
    DATASET_DRIFT_SUSTAINED,
    MULTIVARIATE_DRIFT_SCORE,
    MULTIVARIATE_DRIFT_UPPER,
    MULTIVARIATE_DRIFT_DETECTED,
    WINDOW_RECORDS,
    WINDOW_ERROR_RATIO,
    WINDOW_LATENCY,
    WINDOW_END,
    PREDICTIONS,
    SEGMENT_OVERFLOW,
    AGGREGATOR_SINK_FAILURES,
    QUALITY_METRIC,
    QUALITY_CLASS_METRIC,
    QUALITY_CONFUSION,
    QUALITY_LABEL_COVERAGE,
    QUALITY_LABELLED,
    QUALITY_WINDOW_END,
    QUALITY_ESTIMATE,
    QUALITY_ESTIMATE_LOWER,
    QUALITY_ESTIMATE_UPPER,
    QUALITY_ESTIMATE_ERROR,
    LABEL_JOIN_EVENTS,
    LABEL_JOIN_PENDING,
    LABEL_DELAY,
    PREDICTION_LATENCY,
    LABEL_API_REQUESTS,
    LABEL_API_LABELS,
    WINDOWS_CLOSED,
    AGGREGATOR_MESSAGES,
    AGGREGATOR_MESSAGES_REJECTED,
    AGGREGATOR_RECORDS_REJECTED,
    AGGREGATOR_OPEN_WINDOWS,
    AGGREGATOR_PARTITIONS,
    AGGREGATOR_LAG,
    AGGREGATOR_COMMITS,
    *AGENT_METRICS,
    *HARDWARE_METRICS,
    HARDWARE_SAMPLES_REJECTED,
    *RETRAIN_METRICS,
    *INJECTOR_METRICS,
)
