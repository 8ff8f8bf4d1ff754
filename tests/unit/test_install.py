"""What the install must bring: accelerated CRC32C for kafka-python, and no heavy modules in the agent."""

import subprocess
import sys


def test_kafka_python_uses_the_c_crc32c():
    from kafka.record import util

    assert util._crc32c is not util.crc32c_py, "install the crc32c package (20x faster record batches)"


def test_importing_the_agent_loads_no_pandas_scipy_evidently_or_grafanalib():
    code = (
        "import sys, agent, agent.catalog, agent.wire, agent.publisher, agent.metric_catalog;"
        "heavy = ('pandas', 'scipy', 'evidently', 'grafanalib', 'drift');"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_sidecar_process_loads_neither_pandas_numpy_nor_opentelemetry_without_traces():
    code = (
        "import sys;"
        "from deploy.agent_main import _HideUnused; sys.meta_path.insert(0, _HideUnused());"
        "import agent.sidecar, agent.proxy, agent.capture, agent.admin, pyarrow as pa;"
        "from agent.wire.encode import build_prediction_batch;"
        "build_prediction_batch('a/b', {'x': [1.0]}, version='v', request_ids=['r']);"
        "heavy = ('pandas', 'numpy', 'scipy', 'drift', 'opentelemetry');"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_injector_and_the_retraining_service_load_no_pandas_or_scipy():
    """The injector's memory limit is sized without them (its pod is on every pod creation's path)."""
    code = (
        "import sys, deploy.cli, agent.injector, alerts.retrain, agent.tls;"
        "print(sorted(m for m in ('pandas', 'scipy', 'sklearn', 'drift.core', 'evidently', 'grafanalib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
