"""The streaming join of predictions with their late ground-truth labels, by request id.

Each model has a :class:`LabelJoin`. Predictions wait for their label, and labels that arrive first
wait for their prediction, up to the model's ``quality.label_lateness``; then they are given up and
counted. A prediction logged twice under one request id keeps the latest and counts the duplicate;
a second label for an already joined request is counted, not joined again.

Only what the metrics need is kept per pending prediction: a 64-bit hash of its request id, its
event time, version, predicted value and class probabilities — about 40 bytes for a binary
classifier, not its features. Waiting rows live in sorted *runs* (a log-structured merge): a batch
becomes a run sorted by hash; runs of similar size are merged, so there are O(log n) of them, and a
batch of labels is matched with one vectorized binary search per run. Matched and expired rows are
marked dead and dropped at the next merge.

Request ids are hashed with pandas' SipHash (``hash_array``, fixed key): two ids colliding in 64
bits among a million pending ones has a probability near 3·10⁻⁸.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.util import hash_array

from agent.catalog.model import ModelSpec, QualitySpec, Task
from agent.wire.format import FEATURE_PREFIX, LABEL_PREFIX, OUTPUT_PREFIX
from drift.core.quality import class_codes
from drift.core.segments import MISSING, segment_keys
from drift.core.spill import SpillStore

__all__ = ["JoinCounts", "Joined", "LabelJoin", "request_hashes"]

_MICROS = 1_000_000
Columns = dict[str, npt.NDArray[Any]]


def request_hashes(request_ids: pd.Series | npt.NDArray[np.object_]) -> npt.NDArray[np.uint64]:
    """64-bit hashes of request ids (strings), the join key."""
    return np.asarray(hash_array(np.asarray(request_ids, dtype=object), categorize=False), dtype=np.uint64)


# Always in memory: what finding, expiring and evicting rows needs. The rest may be spilled.
_RESIDENT = ("key", "event_us")


class _Run:
    """Rows sorted by key. A spilled run keeps only its keys, event times and liveness in memory."""

    __slots__ = ("alive", "columns", "handle", "names")

    def __init__(self, columns: Columns) -> None:
        self.columns = columns
        self.names = tuple(columns)
        self.alive = np.ones(len(columns["key"]), dtype=bool)
        self.handle: str | None = None

    @property
    def key(self) -> npt.NDArray[np.uint64]:
        return self.columns["key"]

    def spill(self, store: SpillStore) -> None:
        kept = {name: values[self.alive] for name, values in self.columns.items()}
        self.alive = np.ones(len(kept["key"]), dtype=bool)
        self.handle = store.write({n: v for n, v in kept.items() if n not in _RESIDENT})
        self.columns = {n: kept[n] for n in _RESIDENT if n in kept}

    def read(self, rows: npt.NDArray[np.intp] | None, store: SpillStore | None) -> Columns:
        """All columns of ``rows`` (None: every row), reading spilled ones back."""
        columns = {n: v if rows is None else v[rows] for n, v in self.columns.items()}
        if self.handle is not None and store is not None:
            columns |= store.read(self.handle, rows)
        return {name: columns[name] for name in self.names}

    def release(self, store: SpillStore | None) -> None:
        if self.handle is not None and store is not None:
            store.delete(self.handle)
            self.handle = None


class _Runs:
    """Rows sorted by ``key`` in runs of geometric sizes, with a liveness mask per run.

    With a ``spill`` store, :meth:`spill_oldest` moves the oldest runs' other columns out of memory.
    """

    def __init__(self, spill: SpillStore | None = None) -> None:
        self.runs: list[_Run] = []
        self.spill_store = spill

    def __len__(self) -> int:
        return sum(int(np.count_nonzero(run.alive)) for run in self.runs)

    @property
    def resident(self) -> int:
        """Live rows whose columns are all in memory."""
        return sum(int(np.count_nonzero(run.alive)) for run in self.runs if run.handle is None)

    @property
    def nbytes(self) -> int:
        return sum(run.alive.nbytes + sum(v.nbytes for v in run.columns.values()) for run in self.runs)

    def insert(self, columns: Columns) -> None:
        if not len(columns["key"]):
            return
        order = np.argsort(columns["key"], kind="stable")
        self.runs.append(_Run({name: values[order] for name, values in columns.items()}))
        # Merge while the newest run is at least half the size of the one before: O(log n) runs.
        # Spilled runs stay as they are (merging would read them back).
        while (
            len(self.runs) > 1
            and self.runs[-2].handle is None
            and len(self.runs[-1].key) * 2 >= len(self.runs[-2].key)
        ):
            newer, older = self.runs.pop(), self.runs.pop()
            merged = {
                name: np.concatenate((older.columns[name][older.alive], newer.columns[name][newer.alive]))
                for name in older.columns
            }
            order = np.argsort(merged["key"], kind="stable")
            self.runs.append(_Run({name: values[order] for name, values in merged.items()}))

    def spill_oldest(self, keep: int) -> int:
        """Spill the oldest in-memory runs until at most ``keep`` rows stay resident; returns rows spilled."""
        if self.spill_store is None:
            return 0
        spilled = 0
        for run in self.runs:
            if self.resident <= keep:
                break
            if run.handle is None:
                spilled += int(np.count_nonzero(run.alive))
                run.spill(self.spill_store)
        return spilled

    def find(
        self, keys: npt.NDArray[np.uint64]
    ) -> list[tuple[int, npt.NDArray[np.intp], npt.NDArray[np.intp]]]:
        """Per run holding some of ``keys`` alive: (run, positions in ``keys``, rows in the run)."""
        found = []
        for index, run in enumerate(self.runs):
            if not len(run.key):
                continue
            rows = np.searchsorted(run.key, keys)
            rows = np.minimum(rows, len(run.key) - 1)
            hit = (run.key[rows] == keys) & run.alive[rows]
            if hit.any():
                found.append((index, np.flatnonzero(hit), rows[hit]))
        return found

    def take(self, keys: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.intp], Columns]:
        """Remove the live rows of ``keys``; returns the positions in ``keys`` found and their rows."""
        positions, parts = [], []
        for index, where, rows in self.find(keys):
            run = self.runs[index]
            run.alive[rows] = False
            positions.append(where)
            parts.append(run.read(rows, self.spill_store))
        if not parts:
            return np.empty(0, dtype=np.intp), {}
        return np.concatenate(positions), {
            name: np.concatenate([p[name] for p in parts]) for name in parts[0]
        }

    def rows(self) -> Columns:
        """Every live row, one array per column (for a snapshot)."""
        parts = [run.read(np.flatnonzero(run.alive), self.spill_store) for run in self.runs]
        if not parts:
            return {}
        return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}

    def evict_oldest(self, column: str, count: int) -> int:
        """Mark the ``count`` live rows with the smallest ``column`` dead; returns how many."""
        values = np.concatenate([run.columns[column][run.alive] for run in self.runs])
        # The first value that stays (rows tied with it stay too, so a few more may remain).
        cutoff = int(values.max()) + 1 if count >= values.size else int(np.partition(values, count)[count])
        return self.expire(column, cutoff)

    def expire(self, column: str, before: int) -> int:
        """Mark rows whose ``column`` is below ``before`` dead; returns how many were alive."""
        expired = 0
        for run in self.runs:
            old = run.alive & (run.columns[column] < before)
            expired += int(np.count_nonzero(old))
            run.alive &= ~old
        for run in self.runs:
            if not run.alive.any():
                run.release(self.spill_store)
        self.runs = [run for run in self.runs if run.alive.any()]
        return expired


@dataclass
class JoinCounts:
    """Running counts of a model's join (exported as counters)."""

    predictions: int = 0
    labels: int = 0
    joined: int = 0
    duplicate_predictions: int = 0
    duplicate_labels: int = 0
    expired_predictions: int = 0  # no label within the lateness bound
    expired_labels: int = 0  # no prediction within the lateness bound (or it was given up before)
    evicted_predictions: int = 0  # the oldest ones, given up to stay within ``max_pending``
    spilled_predictions: int = 0  # moved out of memory (to disk) to stay within ``max_pending``


@dataclass(frozen=True, slots=True)
class Joined:
    """Predictions joined with their labels in one step, columnar.

    ``version``: version codes into ``LabelJoin.versions``; ``prediction``: the predicted value
    (regression) or class index into ``quality.classes`` (classification, -1: not a known class);
    ``label``: likewise; ``scores``: per class with a probability output, the probabilities.
    """

    version: npt.NDArray[np.int32]
    prediction_us: npt.NDArray[np.int64]
    label_us: npt.NDArray[np.int64]
    prediction: npt.NDArray[np.float64]
    label: npt.NDArray[np.float64]
    scores: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    # per segment column: each row's value code into ``LabelJoin.segment_values[column]``
    segments: dict[str, npt.NDArray[np.int32]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.version)

    @property
    def delay_seconds(self) -> npt.NDArray[np.float64]:
        return np.asarray((self.label_us - self.prediction_us) / _MICROS, dtype=np.float64)


class LabelJoin:
    """The join state of one model (see the module docstring)."""

    def __init__(
        self, model: ModelSpec, max_pending: int = 10_000_000, spill: SpillStore | None = None
    ) -> None:
        if model.quality is None:
            raise ValueError(f"{model.identity} has no quality section")
        self.model = model
        self.max_pending = max_pending  # bounds memory: ~40 bytes each, plus merge headroom
        self.quality: QualitySpec = model.quality
        self.lateness_us = int(self.quality.label_lateness_seconds * _MICROS)
        self.versions: list[str] = []
        # Per segment column, its values in the order first seen (codes index into these).
        self.segment_values: dict[str, list[str]] = {segment.column: [] for segment in model.segments}
        self._segment_index: dict[str, dict[str, int]] = {}  # value -> code, per column
        self.counts = JoinCounts()
        self.watermark_us: int | None = None
        self._predictions = _Runs(spill)
        self._labels = _Runs()
        self._joined = _Runs()  # keys already joined, to tell a duplicate label from an early one

    @property
    def pending_predictions(self) -> int:
        return len(self._predictions)

    @property
    def pending_labels(self) -> int:
        return len(self._labels)

    @property
    def nbytes(self) -> int:
        """Memory held by the pending state."""
        return self._predictions.nbytes + self._labels.nbytes + self._joined.nbytes

    def _version_codes(self, versions: pd.Series) -> npt.NDArray[np.int32]:
        codes = np.empty(len(versions), dtype=np.int32)
        text = versions.astype(str).to_numpy()
        for value in np.unique(text):
            if value not in self.versions:
                self.versions.append(str(value))
            codes[text == value] = self.versions.index(str(value))
        return codes

    def segment_codes(self, frame: pd.DataFrame) -> Columns:
        """Each row's value code per segment column (missing column: the value ``__missing__``)."""
        codes: Columns = {}
        for column, known in self.segment_values.items():
            name = FEATURE_PREFIX + column
            keys = segment_keys(frame[name]) if name in frame.columns else np.full(len(frame), MISSING)
            index = self._segment_index.setdefault(column, {v: i for i, v in enumerate(known)})
            values, inverse = np.unique(keys, return_inverse=True)
            mapping = np.empty(len(values), dtype=np.int32)
            for i, value in enumerate(values):
                code = index.get(str(value))
                if code is None:
                    code = index[str(value)] = len(known)
                    known.append(str(value))
                mapping[i] = code
            codes[column] = mapping[inverse]
        return codes

    def _predicted(
        self, frame: pd.DataFrame
    ) -> tuple[npt.NDArray[np.float64], dict[str, npt.NDArray[np.float64]]]:
        """The predicted value or class index, and the class probabilities, of prediction rows."""
        q = self.quality
        scores = {
            cls: pd.to_numeric(frame[OUTPUT_PREFIX + name], errors="coerce").to_numpy(
                np.float64, na_value=np.nan
            )
            if OUTPUT_PREFIX + name in frame.columns
            else np.full(len(frame), np.nan)
            for cls, name in q.scores.items()
        }
        column = OUTPUT_PREFIX + q.prediction if q.prediction else None
        if q.task is Task.REGRESSION:
            values = (
                frame[column] if column and column in frame.columns else pd.Series(np.nan, index=frame.index)
            )
            return pd.to_numeric(values, errors="coerce").to_numpy(np.float64, na_value=np.nan), scores
        if column and column in frame.columns:
            return class_codes(frame[column], q.classes), scores
        positive = q.positive_class
        if positive is not None and positive in scores:  # binary by threshold on the positive score
            p = scores[positive]
            predicted = np.where(p >= q.threshold, 1.0, 0.0)
            predicted[np.isnan(p)] = np.nan
            return predicted, scores
        # every class has a probability: the most probable one
        matrix = np.column_stack([scores[c] for c in q.classes])
        predicted = np.argmax(np.nan_to_num(matrix, nan=-np.inf), axis=1).astype(np.float64)
        predicted[np.isnan(matrix).all(axis=1)] = np.nan
        return predicted, scores

    def _labelled(self, frame: pd.DataFrame) -> npt.NDArray[np.float64]:
        column = LABEL_PREFIX + self.quality.label
        if column not in frame.columns:
            return np.full(len(frame), np.nan)
        if self.quality.task is Task.REGRESSION:
            return pd.to_numeric(frame[column], errors="coerce").to_numpy(np.float64, na_value=np.nan)
        return class_codes(frame[column], self.quality.classes)

    def _advance(self, event_us: npt.NDArray[np.int64]) -> None:
        if event_us.size:
            top = int(event_us.max())
            self.watermark_us = top if self.watermark_us is None else max(self.watermark_us, top)

    def add_predictions(
        self, frame: pd.DataFrame, event_us: npt.NDArray[np.int64], segment_codes: Columns | None = None
    ) -> Joined:
        """Hold a batch of predictions for their labels; returns those whose labels were waiting.

        ``segment_codes``: the batch's :meth:`segment_codes`, when the caller computed them already.
        """
        keys = request_hashes(frame["request_id"])
        if segment_codes is None:
            segment_codes = self.segment_codes(frame)
        predicted, scores = self._predicted(frame)
        columns: Columns = {
            "key": keys,
            "event_us": np.asarray(event_us, dtype=np.int64),
            "version": self._version_codes(frame["model_version"]),
            "prediction": predicted,
            **{f"score:{cls}": values for cls, values in scores.items()},
            **{f"segment:{c}": v for c, v in segment_codes.items()},
        }
        self.counts.predictions += len(keys)
        self._advance(columns["event_us"])
        # The same request twice in a batch: the later one is the prediction.
        repeated = pd.Index(keys).duplicated(keep="last")
        if repeated.any():
            self.counts.duplicate_predictions += int(np.count_nonzero(repeated))
            columns = {name: values[~repeated] for name, values in columns.items()}
        # Labels that arrived first join now; the rest wait.
        where, labels = self._labels.take(columns["key"])
        joined = self._joined_rows(columns, where, labels)
        if where.size:
            waiting = np.ones(len(columns["key"]), dtype=bool)
            waiting[where] = False
            self._joined.insert({"key": columns["key"][where], "event_us": columns["event_us"][where]})
            columns = {name: values[waiting] for name, values in columns.items()}
        # A request already waiting: the newer prediction replaces it.
        replaced, _ = self._predictions.take(columns["key"])
        self.counts.duplicate_predictions += int(replaced.size)
        self._predictions.insert(columns)
        if self._predictions.resident > self.max_pending:
            # Past the memory bound: spill the oldest to disk, or (with nowhere to spill) give them
            # up, counted, rather than grow without bound.
            self.counts.spilled_predictions += self._predictions.spill_oldest(self.max_pending // 2)
            excess = self._predictions.resident - self.max_pending
            if excess > 0:
                self.counts.evicted_predictions += self._predictions.evict_oldest("event_us", excess)
        return joined

    def add_labels(self, frame: pd.DataFrame, event_us: npt.NDArray[np.int64]) -> Joined:
        """Join a batch of labels with their waiting predictions; the others wait for theirs."""
        keys = request_hashes(frame["request_id"])
        columns: Columns = {
            "key": keys,
            "event_us": np.asarray(event_us, dtype=np.int64),
            "label": self._labelled(frame),
        }
        self.counts.labels += len(keys)
        # Label times do not move the clock: one label dated far ahead must not expire everything.
        repeated = pd.Index(keys).duplicated(keep="last")
        seen = np.zeros(len(keys), dtype=bool)
        for _, where, _ in self._joined.find(keys):
            seen[where] = True
        duplicate = repeated | seen
        if duplicate.any():
            self.counts.duplicate_labels += int(np.count_nonzero(duplicate))
            columns = {name: values[~duplicate] for name, values in columns.items()}
        where, predictions = self._predictions.take(columns["key"])
        if where.size:
            self._joined.insert({"key": columns["key"][where], "event_us": predictions["event_us"]})
        # Labels: the rows of ``columns`` at ``where``, aligned with ``predictions``.
        joined = self._joined_rows(
            predictions, np.arange(len(where)), {k: v[where] for k, v in columns.items()}
        )
        waiting = np.ones(len(columns["key"]), dtype=bool)
        waiting[where] = False
        early = {name: values[waiting] for name, values in columns.items()}
        replaced, _ = self._labels.take(early["key"])  # a newer label for a request still waiting
        self.counts.duplicate_labels += int(replaced.size)
        self._labels.insert(early)
        return joined

    def _joined_rows(self, predictions: Columns, where: npt.NDArray[np.intp], labels: Columns) -> Joined:
        """Rows of ``predictions`` at ``where`` with ``labels`` (aligned with ``where``)."""
        self.counts.joined += int(where.size)
        if not where.size:
            empty = np.empty(0)
            return Joined(np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0, np.int64), empty, empty)
        return Joined(
            version=predictions["version"][where],
            prediction_us=predictions["event_us"][where],
            label_us=labels["event_us"],
            prediction=predictions["prediction"][where],
            label=labels["label"],
            scores={
                name.removeprefix("score:"): v[where]
                for name, v in predictions.items()
                if name.startswith("score:")
            },
            segments={
                name.removeprefix("segment:"): v[where]
                for name, v in predictions.items()
                if name.startswith("segment:")
            },
        )

    def use_spill(self, store: SpillStore | None) -> None:
        """Spill past ``max_pending`` into ``store`` from now on (after a restore, say)."""
        self._predictions.spill_store = store
        if store is not None and self._predictions.resident > self.max_pending:
            self.counts.spilled_predictions += self._predictions.spill_oldest(self.max_pending // 2)

    def snapshot(self) -> dict[str, Columns]:
        """The waiting rows, by kind (``predictions``, ``labels``, ``joined``), to persist."""
        return {
            "predictions": self._predictions.rows(),
            "labels": self._labels.rows(),
            "joined": self._joined.rows(),
        }

    def restore(
        self,
        rows: dict[str, Columns],
        versions: list[str],
        counts: JoinCounts,
        watermark_us: int | None,
        segment_values: dict[str, list[str]] | None = None,
    ) -> None:
        """Take over a snapshot's state (into an empty join)."""
        self.versions = list(versions)
        for column, values in (segment_values or {}).items():
            if column in self.segment_values:
                self.segment_values[column] = list(values)
        self._segment_index = {}
        self.counts = counts
        self.watermark_us = watermark_us
        for kind, runs in (
            ("predictions", self._predictions),
            ("labels", self._labels),
            ("joined", self._joined),
        ):
            columns = rows.get(kind) or {}
            if columns and len(columns["key"]):
                runs.insert(columns)

    def expire(self) -> None:
        """Give up predictions and labels older than the lateness bound behind the watermark (the
        newest prediction time seen)."""
        if self.watermark_us is None:
            return
        before = self.watermark_us - self.lateness_us
        self.counts.expired_predictions += self._predictions.expire("event_us", before)
        self.counts.expired_labels += self._labels.expire("event_us", before)
        self._joined.expire("event_us", before)
