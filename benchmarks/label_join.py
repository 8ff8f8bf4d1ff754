"""The label join: 1M pending predictions joined with 1M labels arriving in random order.

Ours (``drift.core.join.LabelJoin``: hashed request ids in sorted runs, columnar) against the obvious
baseline, a Python dict from request id to the prediction's fields, side by side in one run, each
in its own process. Measured: labels joined per second (labels in batches of 10,000, in random
order), and memory per pending prediction — the held state's bytes (``nbytes``, ours) and the peak
RSS growth while holding 1M predictions (both). Prints one JSON line last.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.side_by_side import PeakRss, measure_in_child

BATCH = 10_000
CATALOG = """
models:
  - namespace: b
    name: m
    versions: [v1]
    features: [{name: x, type: float}]
    outputs: [{name: p, type: float}]
    quality: {task: classification, label: y, classes: [0, 1], scores: {"1": p}, label_lateness: 7d}
"""


def make(rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    ids = np.array([f"request-{i:012d}" for i in range(rows)], dtype=object)
    p = rng.random(rows)
    y = (rng.random(rows) < p).astype(np.int64)
    order = rng.permutation(rows)  # labels arrive in random order
    return ids, p, y, order


def run_ours(rows: int) -> dict[str, float]:
    from agent.catalog import parse_catalog
    from drift.core.join import LabelJoin

    model = parse_catalog(CATALOG).models["b/m"]
    ids, p, y, order = make(rows)
    event_us = np.full(BATCH, 1_700_000_000_000_000, dtype=np.int64)
    predictions = [
        pd.DataFrame({"request_id": ids[i : i + BATCH], "model_version": "v1", "output.p": p[i : i + BATCH]})
        for i in range(0, rows, BATCH)
    ]
    labels = [
        pd.DataFrame({"request_id": ids[order[i : i + BATCH]], "label.y": y[order[i : i + BATCH]]})
        for i in range(0, rows, BATCH)
    ]
    join = LabelJoin(model)
    with PeakRss() as memory:
        for frame in predictions:
            join.add_predictions(frame, event_us[: len(frame)])
        held = join.nbytes
        pending = join.pending_predictions
    start = time.perf_counter()
    joined = sum(len(join.add_labels(frame, event_us[: len(frame)] + 1)) for frame in labels)
    seconds = time.perf_counter() - start
    return {
        "labels_per_s": rows / seconds,
        "joined": joined,
        "bytes_per_pending_state": held / pending,
        "bytes_per_pending_rss": memory.mb * 1_048_576 / pending,
    }


def run_dict(rows: int) -> dict[str, float]:
    ids, p, y, order = make(rows)
    pending: dict[str, tuple[int, str, float]] = {}
    with PeakRss() as memory:
        for i in range(0, rows, BATCH):
            for request, score in zip(ids[i : i + BATCH], p[i : i + BATCH], strict=True):
                pending[request] = (1_700_000_000_000_000, "v1", float(score))
    start = time.perf_counter()
    joined = 0
    for i in range(0, rows, BATCH):
        for request, label in zip(ids[order[i : i + BATCH]], y[order[i : i + BATCH]], strict=True):
            if pending.pop(request, None) is not None:
                joined += int(label) >= 0
    seconds = time.perf_counter() - start
    return {
        "labels_per_s": rows / seconds,
        "joined": joined,
        "bytes_per_pending_rss": memory.mb * 1_048_576 / rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200k rows (well under a minute)")
    parser.add_argument("--child", choices=["ours", "dict"])
    parser.add_argument("--rows", type=int)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_ours(args.rows) if args.child == "ours" else run_dict(args.rows)))
        return
    rows = 200_000 if args.quick else 1_000_000
    ours, baseline = measure_in_child(__file__, "ours", rows), measure_in_child(__file__, "dict", rows)
    assert ours["joined"] == baseline["joined"] == rows
    result = {
        "benchmark": "label_join",
        "rows": rows,
        "ours_labels_per_s": round(ours["labels_per_s"]),
        "dict_labels_per_s": round(baseline["labels_per_s"]),
        "speedup": round(ours["labels_per_s"] / baseline["labels_per_s"], 2),
        "ours_bytes_per_pending_state": round(ours["bytes_per_pending_state"], 1),
        "ours_bytes_per_pending_rss": round(ours["bytes_per_pending_rss"], 1),
        "dict_bytes_per_pending_rss": round(baseline["bytes_per_pending_rss"], 1),
        "memory_ratio": round(ours["bytes_per_pending_rss"] / baseline["bytes_per_pending_rss"], 3),
        "targets_met": ours["labels_per_s"] >= 500_000 and ours["bytes_per_pending_rss"] <= 200,
    }
    print(
        f"{rows:,} labels: ours {result['ours_labels_per_s']:,}/s, dict {result['dict_labels_per_s']:,}/s; "
        f"bytes per pending prediction: ours {result['ours_bytes_per_pending_rss']} (state "
        f"{result['ours_bytes_per_pending_state']}), dict {result['dict_bytes_per_pending_rss']}",
        file=sys.stderr,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
