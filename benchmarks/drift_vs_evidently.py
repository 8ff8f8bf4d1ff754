"""Our drift engine against Evidently 0.7.23's DataDriftPreset on the same data, side by side.

20 numeric and 5 categorical columns, reference as large as current, drift in a quarter of the
columns. Each engine runs in its own subprocess, once to warm up and once measured: its time, and
its peak RSS above the RSS at the start of the measured run (sampled every 2 ms). "ours (cold)"
profiles the reference and computes the window; "ours (warm)" is a window against an already-built
profile, which is what the aggregator does for every window after the first. Both compute the same
per-column tests only (our multivariate scores are off: Evidently's preset has none). Prints one JSON line
last.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.side_by_side import PeakRss, measure_in_child

NUMERIC, CATEGORICAL = 20, 5


def make_data(rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def frame(drifted: bool) -> pd.DataFrame:
        data: dict[str, np.ndarray] = {}
        for i in range(NUMERIC):
            shift = 0.3 if drifted and i % 4 == 0 else 0.0
            data[f"n{i}"] = (
                rng.normal(shift, 1.0, rows) if i % 5 else rng.integers(0, 1000, rows).astype(float)
            )
        for i in range(CATEGORICAL):
            p = [0.4, 0.3, 0.2, 0.1] if not (drifted and i == 0) else [0.25, 0.25, 0.25, 0.25]
            data[f"c{i}"] = rng.choice(["a", "b", "c", "d"], rows, p=p)
        return pd.DataFrame(data)

    return frame(False), frame(True)


def run_evidently(reference: pd.DataFrame, current: pd.DataFrame) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from evidently import DataDefinition, Dataset, Report
        from evidently.presets import DataDriftPreset

        definition = DataDefinition(
            numerical_columns=[f"n{i}" for i in range(NUMERIC)],
            categorical_columns=[f"c{i}" for i in range(CATEGORICAL)],
        )

        def once():  # type: ignore[no-untyped-def]
            return Report([DataDriftPreset()]).run(
                Dataset.from_pandas(current, data_definition=definition),
                Dataset.from_pandas(reference, data_definition=definition),
            )

        once()  # warm-up: first-use costs of lazily loaded code are not what a monitor pays per window
        with PeakRss() as memory:
            start = time.perf_counter()
            snapshot = once()
            seconds = time.perf_counter() - start
    scores: dict[str, float] = {}
    share = float("nan")
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if "ValueDrift" in str(config.get("type", "")):
            scores[config["column"]] = float(metric["value"])
        elif "DriftedColumnsCount" in str(config.get("type", "")):
            share = float(metric["value"]["share"])
    return {"seconds": seconds, "peak_mb": memory.mb, "scores": scores, "share": share}


def run_ours(reference: pd.DataFrame, current: pd.DataFrame) -> dict[str, float]:
    from agent.catalog.load import parse_catalog
    from drift.core.compute import compute_window
    from drift.core.reference import build_reference
    from drift.core.results import DriftStatus, WindowKey

    columns = [f"{{name: n{i}, type: float}}" for i in range(NUMERIC)]
    columns += [f"{{name: c{i}, type: category}}" for i in range(CATEGORICAL)]
    model = parse_catalog(
        f"models: [{{namespace: b, name: m, drift: {{min_window_records: 1, multivariate: false, domain_classifier: false}}, features: [{', '.join(columns)}]}}]"
    ).models["b/m"]
    window = current.add_prefix("feature.")
    pool = ThreadPoolExecutor(max_workers=os.cpu_count())  # as the aggregator scores a window's columns
    compute_window(
        model, WindowKey("b/m", "v1", 0), 1, window, build_reference(reference, model), pool
    )  # warm-up
    with PeakRss() as memory:
        start = time.perf_counter()
        profile = build_reference(reference, model, executor=pool)
        profiled = time.perf_counter()
        result = compute_window(model, WindowKey("b/m", "v1", 0), 1, window, profile, pool)
        end = time.perf_counter()
    scores = {c.column: c.score for c in result.columns if c.status is DriftStatus.OK}
    return {
        "seconds": end - start,
        "warm_seconds": end - profiled,
        "peak_mb": memory.mb,
        "scores": scores,
        "share": result.drift_share,
    }


def child(engine: str, rows: int) -> None:
    reference, current = make_data(rows)
    result = run_evidently(reference, current) if engine == "evidently" else run_ours(reference, current)
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10k and 30k rows only (under a minute)")
    parser.add_argument("--child", choices=["evidently", "ours"])
    parser.add_argument("--rows", type=int)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows)
        return
    sizes = [10_000, 30_000] if args.quick else [10_000, 100_000, 1_000_000]
    cases = []
    for rows in sizes:
        theirs = measure_in_child(__file__, "evidently", rows)
        ours = measure_in_child(__file__, "ours", rows)
        worst = max(abs(ours["scores"][c] - theirs["scores"][c]) for c in theirs["scores"])
        case = {
            "rows": rows,
            "evidently_s": round(theirs["seconds"], 3),
            "ours_cold_s": round(ours["seconds"], 4),
            "ours_warm_s": round(ours["warm_seconds"], 4),
            "speedup_cold": round(theirs["seconds"] / ours["seconds"], 1),
            "speedup_warm": round(theirs["seconds"] / ours["warm_seconds"], 1),
            "evidently_peak_mb": round(theirs["peak_mb"], 1),
            "ours_peak_mb": round(ours["peak_mb"], 1),
            "memory_ratio": round(ours["peak_mb"] / theirs["peak_mb"], 3) if theirs["peak_mb"] > 0 else None,
            "columns_compared": len(theirs["scores"]),
            "max_abs_difference": worst,
            "all_match_1e-9": worst <= 1e-9 and set(ours["scores"]) == set(theirs["scores"]),
            "share_evidently": theirs["share"],
            "share_ours": ours["share"],
        }
        print(
            f"{rows:>9,} rows: Evidently {case['evidently_s']:>8.2f}s  ours {case['ours_cold_s']:.3f}s "
            f"(warm {case['ours_warm_s']:.3f}s)  x{case['speedup_cold']} (warm x{case['speedup_warm']})  "
            f"peak MB {case['evidently_peak_mb']} vs {case['ours_peak_mb']}  match={case['all_match_1e-9']}",
            file=sys.stderr,
        )
        cases.append(case)
    print(
        json.dumps(
            {
                "benchmark": "drift_vs_evidently",
                "columns": NUMERIC + CATEGORICAL,
                "quick": args.quick,
                "cases": cases,
            }
        )
    )


if __name__ == "__main__":
    main()
