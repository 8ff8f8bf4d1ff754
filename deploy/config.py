"""The one place settings are built: a YAML file, then ``MODELMON_*`` environment variables on top.

Components receive their settings dataclasses explicitly; nothing else reads the environment, and
nothing reads it at import time.

Environment variables (each overrides the YAML value):

=====================================  ==========================================
``MODELMON_KAFKA_BOOTSTRAP``           comma-separated ``host:port`` list
``MODELMON_KAFKA_CLIENT_ID``           client id
``MODELMON_KAFKA_SECURITY_PROTOCOL``   PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
``MODELMON_KAFKA_SASL_MECHANISM``      e.g. SCRAM-SHA-512
``MODELMON_KAFKA_SASL_USERNAME``       SASL user
``MODELMON_KAFKA_SASL_PASSWORD_FILE``  file holding the SASL password
``MODELMON_KAFKA_SSL_CAFILE``          CA bundle
``MODELMON_AGGREGATOR_GROUP``          consumer group of the aggregators
``MODELMON_METRICS_PORT``              port of the aggregator's ``/metrics``
``MODELMON_ARCHIVE_DIR``               directory of the aggregator's window archive
``MODELMON_LABEL_API_TOKEN_FILE``      token file of the label HTTP endpoint (unset: off)
``MODELMON_MODEL``                     the sidecar's model, ``namespace/name``
``MODELMON_MODEL_VERSION``             the version it serves
``MODELMON_LISTEN_PORT``               the sidecar's traffic port
``MODELMON_UPSTREAM_PORT``             the model server's port on loopback
``MODELMON_ADMIN_PORT``                the sidecar's ``/metrics``, ``/healthz``, ``/readyz``
``MODELMON_MODEL_READY_PATH``          the model's readiness path
``MODELMON_SAMPLE_FRACTION``           share of calls captured, 0 to 1
``MODELMON_CATALOG_YAML``              the model's catalog as text (set by the injector)
``MODELMON_SPOOL_DIR``                 the sidecar's disk spool
``MODELMON_TRACING_EXPORTER``          none, otlp or console
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` the OTLP collector's traces URL
``MODELMON_POD_NAME``                  the pod (downward API), a label of hardware samples
``MODELMON_POD_NAMESPACE``             its namespace
``MODELMON_POD_UID``                   its UID (attributes NVML's host process ids)
``MODELMON_MODEL_PID``                 the model server's process id
``MODELMON_MODEL_PROCESS_MATCH``       or a substring of its command line
``MODELMON_COLLECT_INTERVAL``          seconds between hardware collections
``MODELMON_HOST_PROC``                 a mount of the node's /proc (GPU attribution)
``MODELMON_CGROUP_ROOT``               the cgroup filesystem to read
``MODELMON_INJECTOR_PORT``             the injector webhook's HTTPS port
``MODELMON_INJECTOR_CERT_FILE``        its serving certificate (reloaded when it rotates)
``MODELMON_INJECTOR_KEY_FILE``         its key
``MODELMON_INJECTOR_DEFAULTS_FILE``    the injection defaults (a mounted ConfigMap)
``MODELMON_INJECTOR_CATALOG_FILE``     the model catalog whose entries injected agents get
``MODELMON_RETRAIN_HOST``              the retraining service's listen address
``MODELMON_RETRAIN_PORT``              its port
``MODELMON_RETRAIN_DB``                its SQLite outbox
``MODELMON_RETRAIN_TOKEN_FILE``        file holding the bearer token callers send
``MODELMON_RETRAIN_HMAC_SECRET_FILE``  file holding the HMAC key of signed callers
``MODELMON_PROMETHEUS_URL``            Prometheus, for the evidence bundle's metric values
``MODELMON_RETRAIN_REPORT_URL``        report link template ({namespace}, {model}, {version})
=====================================  ==========================================
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agent.errors import ConfigError
from agent.injector.settings import InjectorSettings
from agent.settings import CaptureSettings, KafkaSettings, ProxySettings, PublisherSettings, TracingSettings
from alerts.retrain.settings import RetrainSettings
from collectors.settings import CollectorSettings
from drift.adapters.settings import AggregatorSettings

__all__ = ["Settings", "load_settings"]

_ENV_KAFKA = {
    "MODELMON_KAFKA_BOOTSTRAP": "bootstrap_servers",
    "MODELMON_KAFKA_CLIENT_ID": "client_id",
    "MODELMON_KAFKA_SECURITY_PROTOCOL": "security_protocol",
    "MODELMON_KAFKA_SASL_MECHANISM": "sasl_mechanism",
    "MODELMON_KAFKA_SASL_USERNAME": "sasl_username",
    "MODELMON_KAFKA_SASL_PASSWORD_FILE": "sasl_password_file",
    "MODELMON_KAFKA_SSL_CAFILE": "ssl_cafile",
}
_ENV_AGGREGATOR = {
    "MODELMON_AGGREGATOR_GROUP": "group_id",
    "MODELMON_METRICS_PORT": "metrics_port",
    "MODELMON_ARCHIVE_DIR": "archive_dir",
    "MODELMON_LABEL_API_TOKEN_FILE": "label_api_token_file",
}

_ENV_PUBLISHER = {"MODELMON_SPOOL_DIR": "spool_dir"}
_ENV_PROXY = {
    "MODELMON_LISTEN_PORT": "listen_port",
    "MODELMON_UPSTREAM_PORT": "upstream_port",
    "MODELMON_ADMIN_PORT": "admin_port",
    "MODELMON_MODEL_READY_PATH": "model_ready_path",
}
_ENV_CAPTURE = {
    "MODELMON_MODEL": "model",
    "MODELMON_MODEL_VERSION": "version",
    "MODELMON_SAMPLE_FRACTION": "sample_fraction",
    "MODELMON_CATALOG_YAML": "catalog_yaml",
}
_ENV_COLLECTORS = {
    "MODELMON_POD_NAME": "pod",
    "MODELMON_POD_NAMESPACE": "namespace",
    "MODELMON_POD_UID": "pod_uid",
    "MODELMON_MODEL_PID": "model_pid",
    "MODELMON_MODEL_PROCESS_MATCH": "model_process_match",
    "MODELMON_COLLECT_INTERVAL": "interval_seconds",
    "MODELMON_HOST_PROC": "host_proc_root",
    "MODELMON_CGROUP_ROOT": "cgroup_root",
}
_ENV_INJECTOR = {
    "MODELMON_INJECTOR_PORT": "port",
    "MODELMON_INJECTOR_CERT_FILE": "cert_file",
    "MODELMON_INJECTOR_KEY_FILE": "key_file",
    "MODELMON_INJECTOR_DEFAULTS_FILE": "defaults_file",
    "MODELMON_INJECTOR_CATALOG_FILE": "catalog_file",
}
_ENV_RETRAIN = {
    "MODELMON_RETRAIN_HOST": "host",
    "MODELMON_RETRAIN_PORT": "port",
    "MODELMON_RETRAIN_DB": "database",
    "MODELMON_RETRAIN_TOKEN_FILE": "token_file",
    "MODELMON_RETRAIN_HMAC_SECRET_FILE": "hmac_secret_file",
    "MODELMON_PROMETHEUS_URL": "prometheus_url",
    "MODELMON_RETRAIN_REPORT_URL": "report_url",
}
_ENV_TRACING = {
    "MODELMON_TRACING_EXPORTER": "exporter",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "endpoint",
}


@dataclass(frozen=True, slots=True)
class Settings:
    """Every process setting, by component."""

    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    publisher: PublisherSettings = field(default_factory=PublisherSettings)
    aggregator: AggregatorSettings = field(default_factory=AggregatorSettings)
    proxy: ProxySettings = field(default_factory=ProxySettings)
    capture: CaptureSettings = field(default_factory=CaptureSettings)
    tracing: TracingSettings = field(default_factory=TracingSettings)
    collectors: CollectorSettings = field(default_factory=CollectorSettings)
    retrain: RetrainSettings = field(default_factory=RetrainSettings)
    injector: InjectorSettings = field(default_factory=InjectorSettings)


def _convert(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        if value is None:
            return None
        hint = next(a for a in args if a is not type(None))
        return _convert(value, hint, where)
    try:
        if origin is tuple:
            item = args[0] if args and args[0] is int else str
            if isinstance(value, str):
                value = value.replace(".", ",") if item is int else value  # "2.8" is (2, 8)
                value = value.split(",")
            return tuple(item(str(i).strip()) for i in value if str(i).strip())
        if hint is bool:
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
        if hint in (int, float, str):
            return hint(value)
        if hint is Path:
            return Path(value)
        if origin is dict:
            return dict(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {where}: cannot use {value!r}: {exc}") from exc
    return value


def _build(cls: type[Any], raw: Mapping[str, Any], where: str, **fixed: Any) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise ConfigError(f"unknown setting(s) {unknown} in {where}; known: {sorted(names)}")
    values = {k: _convert(v, hints[k], f"{where}.{k}") for k, v in raw.items()}
    return cls(**(values | fixed))


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from an optional YAML file and an environment mapping (``os.environ``)."""
    doc: dict[str, Any] = {}
    if path is not None:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read settings {path}: {exc}") from exc
    env = env or {}
    kafka_raw = dict(doc.get("kafka") or {})
    kafka_raw |= {key: env[name] for name, key in _ENV_KAFKA.items() if env.get(name)}
    aggregator_raw = dict(doc.get("aggregator") or {})
    aggregator_raw |= {key: env[name] for name, key in _ENV_AGGREGATOR.items() if env.get(name)}
    kafka = _build(KafkaSettings, kafka_raw, "kafka")
    sections = {}
    for name, env_map in (
        ("publisher", _ENV_PUBLISHER),
        ("proxy", _ENV_PROXY),
        ("capture", _ENV_CAPTURE),
        ("tracing", _ENV_TRACING),
        ("collectors", _ENV_COLLECTORS),
        ("retrain", _ENV_RETRAIN),
        ("injector", _ENV_INJECTOR),
    ):
        raw = dict(doc.get(name) or {})
        sections[name] = raw | {key: env[var] for var, key in env_map.items() if env.get(var)}
    return Settings(
        kafka=kafka,
        publisher=_build(PublisherSettings, sections["publisher"], "publisher"),
        aggregator=_build(AggregatorSettings, aggregator_raw, "aggregator", kafka=kafka),
        proxy=_build(ProxySettings, sections["proxy"], "proxy"),
        capture=_build(CaptureSettings, sections["capture"], "capture"),
        tracing=_build(TracingSettings, sections["tracing"], "tracing"),
        collectors=_build(CollectorSettings, sections["collectors"], "collectors"),
        retrain=_build(RetrainSettings, sections["retrain"], "retrain"),
        injector=_build(InjectorSettings, sections["injector"], "injector"),
    )
