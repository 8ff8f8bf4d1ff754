"""The retraining service's webhook: what durability costs an Alertmanager notification.

The real service over HTTP on loopback (authentication, parsing, the per-model decision and the
store), with the outbox on disk as shipped (SQLite WAL, ``synchronous=FULL``: on disk before the
200) against the same service with the outbox in memory, side by side, each in its own process.
Every notification carries a new alert of one model: the first triggers, the rest attach to the
run in flight, as during an alert storm. Measured: notifications per second and latency percentiles
of a keep-alive client. Prints one JSON line last.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.side_by_side import measure_in_child

CATALOG = """
models:
  - namespace: demo
    name: credit-risk
    features: [{name: x, type: float}]
    retraining: {type: webhook, url: "http://127.0.0.1:9/retrain", cooldown: 1h}
"""


def _notification(i: int) -> bytes:
    alert = {
        "status": "firing",
        "labels": {"alertname": "ModelmonDatasetDrift", "namespace": "demo", "model": "credit-risk",
                   "version": "v1", "severity": "warning", "modelmon_action": "retrain"},
        "annotations": {"summary": "drift"},
        "startsAt": "2026-12-05T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": f"{i:016x}",
    }  # fmt: skip
    return json.dumps(
        {"version": "4", "groupKey": "g", "status": "firing", "receiver": "r", "alerts": [alert]}
    ).encode()


def run(engine: str, count: int) -> dict[str, float]:
    from agent.catalog import parse_catalog
    from alerts.retrain import RetrainService, RetrainSettings

    folder = Path(tempfile.mkdtemp(prefix="bench-retrain-"))
    (folder / "token").write_text("bench-token")
    database = folder / "retrain.db" if engine == "disk" else Path(":memory:")
    settings = RetrainSettings(
        host="127.0.0.1", port=0, database=database, token_file=folder / "token", max_attempts=1
    )
    with RetrainService(settings, parse_catalog(CATALOG), poll_seconds=3600) as service:
        port = int(service.url.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": "Bearer bench-token", "Content-Type": "application/json"}
        bodies = [_notification(i) for i in range(count)]
        latencies = []
        start = time.perf_counter()
        for body in bodies:
            sent = time.perf_counter()
            conn.request("POST", "/alerts", body, headers)
            response = conn.getresponse()
            response.read()
            latencies.append(time.perf_counter() - sent)
            assert response.status == 200, response.status
        elapsed = time.perf_counter() - start
        conn.close()
        outcomes = service.outbox.incident_counts()
    latencies.sort()
    return {
        "per_s": count / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] * 1000,
        "stored": sum(outcomes.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="500 notifications (seconds)")
    parser.add_argument("--child", choices=["disk", "memory"])
    parser.add_argument("--rows", type=int)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run(args.child, args.rows)))
        return
    count = 500 if args.quick else 5_000
    disk, memory = measure_in_child(__file__, "disk", count), measure_in_child(__file__, "memory", count)
    assert disk["stored"] == memory["stored"] == count
    result = {
        "benchmark": "retrain_intake",
        "notifications": count,
        "durable_per_s": round(disk["per_s"]),
        "memory_per_s": round(memory["per_s"]),
        "durability_cost_ratio": round(memory["per_s"] / disk["per_s"], 2),
        "durable_p50_ms": round(disk["p50_ms"], 2),
        "durable_p99_ms": round(disk["p99_ms"], 2),
        "memory_p99_ms": round(memory["p99_ms"], 2),
        # Alertmanager sends a notification per group per group_interval (5 m by default): even a
        # thousand models' groups at once are a few per second.
        "targets_met": disk["per_s"] >= 100 and disk["p99_ms"] <= 100,
    }
    print(
        f"{count:,} notifications: durable {result['durable_per_s']:,}/s (p99 {result['durable_p99_ms']} ms), "
        f"in memory {result['memory_per_s']:,}/s (p99 {result['memory_p99_ms']} ms)",
        file=sys.stderr,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
