"""An archive of closed windows' rows, in Parquet: what reports (``modelmon report``) are built from.

Each closed window becomes one file::

    <root>/<namespace>/<name>/<version>/<segment or "all">/<start, UTC, e.g. 20261204T215000Z>.parquet

holding the window's decoded rows (envelope, ``feature.*``, ``output.*`` and ``label.*`` columns) and,
in the Parquet schema metadata under ``modelmon.window``, the window's key, end and a summary of its
result. Path parts are percent-encoded, so no user value (a version, a segment value) can add a
directory level, climb out of the root or name a hidden file. Retention keeps the newest
``keep_windows`` windows of every model/version/segment and deletes older ones.

:class:`FanOutSink` publishes every window to several sinks (the exporter's store and the archive): a
sink that fails is logged and counted, never stopping the others or the aggregator.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from agent.catalog.model import ModelSpec
from drift.adapters.aggregator import WindowSink
from drift.adapters.stats import AggregatorStats
from drift.core.errors import DriftError
from drift.core.results import WindowResult

__all__ = [
    "ALL_SEGMENTS",
    "METADATA_KEY",
    "ArchiveError",
    "ArchivedWindow",
    "FanOutSink",
    "WindowArchive",
    "find_window",
    "format_start",
    "latest_window",
    "list_windows",
    "load_window",
    "parse_start",
    "window_path",
]

log = logging.getLogger(__name__)

METADATA_KEY = b"modelmon.window"
FORMAT_VERSION = 1
ALL_SEGMENTS = "all"  # the directory of a model version's whole (unsegmented) windows
_SUFFIX = ".parquet"
_EMPTY = "~"  # the encoded form of an empty path part (``quote`` never yields a bare "~": see _encode)
_MAX_PART = 120  # longer encoded parts are shortened and suffixed with a hash (file names have limits)


class ArchiveError(DriftError):
    """The window archive cannot be read, or holds no window that matches."""


# --- names ------------------------------------------------------------------------------------
def _encode(part: str) -> str:
    """A path part that is one safe directory or file name, distinct for distinct values."""
    if not part:
        return _EMPTY
    encoded = quote(part, safe="=,@+").replace("~", "%7E")
    if encoded.startswith("."):  # ".", "..", and hidden names
        encoded = "%2E" + encoded[1:]
    if len(encoded) > _MAX_PART:
        digest = hashlib.sha256(part.encode()).hexdigest()[:16]
        head = encoded[: _MAX_PART - 17]
        cut = head.rfind("%", len(head) - 2)  # do not split a %XX escape
        encoded = f"{head[:cut] if cut >= 0 else head}~{digest}"
    return encoded


def _segment_dir(segment: str) -> str:
    if not segment:
        return ALL_SEGMENTS
    return "%61ll" if segment == ALL_SEGMENTS else _encode(segment)


def format_start(start_us: int) -> str:
    """A window start as its file stem: ``20261204T215000Z`` (with ``.ffffff`` for sub-second starts)."""
    moment = datetime.fromtimestamp(start_us // 1_000_000, UTC)
    micros = start_us % 1_000_000
    fraction = f".{micros:06d}" if micros else ""
    return f"{moment:%Y%m%dT%H%M%S}{fraction}Z"


def parse_start(value: str | float | datetime) -> int:
    """A window start, in µs since the epoch, from ``20261204T215000Z``, any ISO 8601 time (UTC when it
    names no zone), epoch seconds, or a datetime."""
    start_us = _parse_start(value)
    try:
        format_start(start_us)
    except (ValueError, OverflowError, OSError):
        raise ArchiveError(f"window start {value!r} is out of range (epoch seconds are expected)") from None
    return start_us


def _parse_start(value: str | float | datetime) -> int:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return _micros(moment)
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ArchiveError(f"window start {value!r} is not a time")
        return round(value * 1_000_000)
    text = value.strip()
    try:
        return round(float(text) * 1_000_000)
    except ValueError:
        pass
    for layout in ("%Y%m%dT%H%M%S.%fZ", "%Y%m%dT%H%M%SZ"):
        try:
            return _micros(datetime.strptime(text, layout).replace(tzinfo=UTC))
        except ValueError:
            continue
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ArchiveError(
            f"window start {value!r} is neither 20261204T215000Z, an ISO 8601 time nor epoch seconds"
        ) from None
    return _micros(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _micros(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _split_identity(model: str) -> tuple[str, str]:
    namespace, slash, name = model.partition("/")
    if not slash or not namespace or not name:
        raise ArchiveError(f"model {model!r} is not namespace/name")
    return namespace, name


def window_path(root: Path, model: str, version: str, start_us: int, segment: str = "") -> Path:
    """Where the window of ``model`` (``namespace/name``) starting at ``start_us`` is archived."""
    namespace, name = _split_identity(model)
    return (
        root
        / _encode(namespace)
        / _encode(name)
        / _encode(version)
        / _segment_dir(segment)
        / (format_start(start_us) + _SUFFIX)
    )


# --- reading ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ArchivedWindow:
    """One archived window, as its metadata describes it.

    Attributes:
        model, version, segment, start_us: the window's key (segment empty for the whole model).
        end_us: its end (exclusive), µs since the epoch.
        records: rows in the file.
        dataset_drifted: whether the aggregator judged the window drifted.
        drift_share: share of drifted columns, None when no drift could be computed.
        drifted_columns: the columns the aggregator found drifted.
        path: the Parquet file.
    """

    model: str
    version: str
    segment: str
    start_us: int
    end_us: int
    records: int
    dataset_drifted: bool
    drift_share: float | None
    drifted_columns: tuple[str, ...]
    path: Path

    @property
    def start(self) -> str:
        return format_start(self.start_us)

    @property
    def start_time(self) -> datetime:
        return datetime.fromtimestamp(self.start_us / 1e6, UTC)

    @property
    def end_time(self) -> datetime:
        return datetime.fromtimestamp(self.end_us / 1e6, UTC)

    def read_frame(self) -> pd.DataFrame:
        """The window's rows, as the aggregator had them."""
        try:
            return pq.read_table(self.path).to_pandas()
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise ArchiveError(f"cannot read archived window {self.path}: {exc}") from exc


def _read_info(path: Path) -> ArchivedWindow:
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise ArchiveError(f"cannot read archived window {path}: {exc}") from exc
    raw = metadata.get(METADATA_KEY)
    if raw is None:
        raise ArchiveError(f"{path} is not an archived window (no {METADATA_KEY.decode()} metadata)")
    try:
        info = json.loads(raw)
        return ArchivedWindow(
            model=str(info["model"]),
            version=str(info["version"]),
            segment=str(info.get("segment", "")),
            start_us=int(info["start_us"]),
            end_us=int(info["end_us"]),
            records=int(info["records"]),
            dataset_drifted=bool(info.get("dataset_drifted", False)),
            drift_share=None if info.get("drift_share") is None else float(info["drift_share"]),
            drifted_columns=tuple(info.get("drifted_columns", ())),
            path=path,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ArchiveError(f"{path}: unreadable window metadata: {exc}") from exc


def _files(root: Path, model: str | None) -> Iterable[Path]:
    if model is None:
        base = root
    else:
        namespace, name = _split_identity(model)
        base = root / _encode(namespace) / _encode(name)
    if not base.is_dir():
        return []
    pattern = "*/*/*" + _SUFFIX if model is not None else "*/*/*/*/*" + _SUFFIX
    return base.glob(pattern)


def list_windows(
    root: Path, model: str | None = None, *, version: str | None = None, segment: str | None = None
) -> list[ArchivedWindow]:
    """Archived windows, by model, version, segment and start; optionally only of one model
    (``namespace/name``), version or segment (``""`` for whole-model windows).

    Files that cannot be read are logged and skipped.
    """
    root = Path(root)
    if not root.is_dir():
        raise ArchiveError(f"no window archive at {root}")
    found: list[ArchivedWindow] = []
    for path in _files(root, model):
        try:
            info = _read_info(path)
        except ArchiveError as exc:
            log.warning("%s; skipped", exc)
            continue
        if model is not None and info.model != model:
            continue
        if version is not None and info.version != version:
            continue
        if segment is not None and info.segment != segment:
            continue
        found.append(info)
    found.sort(key=lambda w: (w.model, w.version, w.segment, w.start_us))
    return found


def _describe(windows: Sequence[ArchivedWindow], limit: int = 5) -> str:
    if not windows:
        return "none"
    shown = ", ".join(f"{w.version} {w.segment or ALL_SEGMENTS} {w.start}" for w in windows[-limit:])
    return f"{len(windows)}, the latest: {shown}"


def find_window(
    root: Path, model: str, version: str | None, start: str | float | datetime, segment: str = ""
) -> ArchivedWindow:
    """The archived window of ``model`` that starts at, or else contains, ``start``.

    ``version`` None accepts any version when only one has a window at that time.
    """
    root = Path(root)
    start_us = parse_start(start)
    if version is not None:
        path = window_path(root, model, version, start_us, segment)
        if path.is_file():
            return _read_info(path)
    windows = list_windows(root, model, version=version, segment=segment)
    matches = [w for w in windows if w.start_us == start_us] or [
        w for w in windows if w.start_us <= start_us < w.end_us
    ]
    versions = sorted({w.version for w in matches})
    if len(versions) > 1:
        raise ArchiveError(
            f"{model} has windows at {format_start(start_us)} of versions {versions}; choose one with --version"
        )
    if not matches:
        where = f"{model} {version or '(any version)'} {segment or ALL_SEGMENTS}"
        raise ArchiveError(
            f"no archived window of {where} at {format_start(start_us)} in {root}; "
            f"archived windows: {_describe(windows)}"
        )
    return matches[0]


def latest_window(root: Path, model: str, version: str | None = None, segment: str = "") -> ArchivedWindow:
    """The archived window of ``model`` with the latest start (of ``version``, or of any version)."""
    windows = list_windows(Path(root), model, version=version, segment=segment)
    if not windows:
        where = f"{model} {version or '(any version)'} {segment or ALL_SEGMENTS}"
        raise ArchiveError(f"no archived window of {where} in {root}")
    return max(windows, key=lambda w: w.start_us)


def load_window(
    root: Path, model: str, version: str | None, start: str | float | datetime, segment: str = ""
) -> tuple[ArchivedWindow, pd.DataFrame]:
    """An archived window and its rows; ``start`` as in :func:`find_window`."""
    window = find_window(root, model, version, start, segment)
    return window, window.read_frame()


# --- writing ------------------------------------------------------------------------------------
def _window_metadata(result: WindowResult) -> dict[str, object]:
    key = result.key
    return {
        "format_version": FORMAT_VERSION,
        "model": key.model,
        "version": key.version,
        "segment": key.segment,
        "start_us": key.start_us,
        "end_us": result.end_us,
        "records": result.records,
        "error_records": result.error_records,
        "drift_share": result.drift_share,
        "dataset_drifted": result.dataset_drifted,
        "drifted_columns": [c.column for c in result.columns if c.drifted],
    }


class WindowArchive:
    """A ``WindowSink`` that writes every closed window's rows to a Parquet file under ``root``.

    Files are written to a temporary name and renamed, so readers never see a partial window.
    ``keep_windows`` (0 or None: no limit) bounds the windows kept per model/version/segment.
    """

    def __init__(self, root: Path, keep_windows: int | None = 500) -> None:
        if keep_windows is not None and keep_windows < 0:
            raise ValueError(f"keep_windows must be >= 0, not {keep_windows}")
        self.root = Path(root)
        self.keep_windows = keep_windows or None
        self.written = 0
        self.deleted = 0
        self._lock = threading.Lock()

    def path_for(self, result: WindowResult) -> Path:
        key = result.key
        return window_path(self.root, key.model, key.version, key.start_us, key.segment)

    def publish(self, model: ModelSpec, result: WindowResult, frame: pd.DataFrame) -> None:
        path = self.path_for(result)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        metadata = dict(table.schema.metadata or {})
        metadata[METADATA_KEY] = json.dumps(_window_metadata(result)).encode()
        table = table.replace_schema_metadata(metadata)
        with self._lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            try:
                pq.write_table(table, partial)
                partial.replace(path)
            finally:
                partial.unlink(missing_ok=True)
            self.written += 1
            if self.keep_windows:
                self._expire(path.parent)

    def _expire(self, directory: Path) -> None:
        """Delete the oldest windows of a directory beyond ``keep_windows``."""
        assert self.keep_windows is not None
        files = [p for p in directory.iterdir() if p.suffix == _SUFFIX and not p.name.startswith(".")]
        if len(files) <= self.keep_windows:
            return
        dated: list[tuple[int, Path]] = []
        for path in files:
            try:
                dated.append((parse_start(path.stem), path))
            except ArchiveError:
                continue  # not ours
        dated.sort()
        for _, path in dated[: len(dated) - self.keep_windows]:
            try:
                path.unlink()
                self.deleted += 1
            except FileNotFoundError:
                pass


class FanOutSink:
    """Publishes every window to each of ``sinks`` in turn.

    A sink that raises is logged (with its traceback the first time) and counted in ``failures``, by
    the sink's position; the other sinks still get the window, and the aggregator goes on.
    """

    def __init__(self, sinks: Sequence[WindowSink], stats: AggregatorStats | None = None) -> None:
        self.sinks = tuple(sinks)
        self.failures: Counter[int] = Counter()
        self._stats = stats  # exports the failures as modelmon_aggregator_sink_failures_total{sink}
        self._lock = threading.Lock()

    @property
    def failed(self) -> int:
        """Failed publications, of every sink together."""
        with self._lock:
            return sum(self.failures.values())

    def publish(self, model: ModelSpec, result: WindowResult, frame: pd.DataFrame) -> None:
        for index, sink in enumerate(self.sinks):
            try:
                sink.publish(model, result, frame)
            except Exception as exc:
                with self._lock:
                    self.failures[index] += 1
                    first = self.failures[index] == 1
                name = type(sink).__name__
                if self._stats is not None:
                    with self._stats.lock:
                        self._stats.sink_failures[name] += 1
                if first:
                    log.exception("%s failed to publish window %s", name, result.key)
                else:
                    log.warning(
                        "%s failed to publish window %s (%d failures): %s",
                        name,
                        result.key,
                        self.failures[index],
                        exc,
                    )
