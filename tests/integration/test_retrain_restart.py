"""The retraining service as a process: killed between accepting an alert and delivering it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from deploy.processes import free_port
from tests.helpers import wait_until
from tests.retrain_support import RecordingServer, am_alert, am_notification, http, serve

TOKEN = "restart-token-51f0"


def _start(folder: Path, port: int) -> subprocess.Popen[str]:
    env = os.environ | {
        "MODELMON_RETRAIN_HOST": "127.0.0.1",
        "MODELMON_RETRAIN_PORT": str(port),
        "MODELMON_RETRAIN_DB": str(folder / "retrain.db"),
        "MODELMON_RETRAIN_TOKEN_FILE": str(folder / "token"),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "deploy.cli", "retrain", "serve", "--catalog", str(folder / "models.yaml")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: http("GET", f"{url}/healthz")[0] == 200, 30, what="the retraining service")
    return process


def test_an_alert_accepted_before_a_kill_is_delivered_once_after_the_restart(tmp_path):
    target_port, port = free_port(), free_port()
    (tmp_path / "token").write_text(TOKEN)
    (tmp_path / "models.yaml").write_text(
        "models:\n  - namespace: demo\n    name: credit-risk\n    features: [{name: x, type: float}]\n"
        f'    retraining: {{type: webhook, url: "http://127.0.0.1:{target_port}/retrain", cooldown: 1h}}\n'
    )
    url = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    body = json.dumps(am_notification(am_alert())).encode()
    first = _start(tmp_path, port)
    try:
        status, answer = http("POST", f"{url}/alerts", body, auth)  # the target is down: stays pending
        assert status == 200 and answer["outcomes"] == {"triggered": 1}
        (trigger_id,) = answer["triggers"]
        wait_until(
            lambda: http("GET", f"{url}/triggers", headers=auth)[1]["triggers"][0]["attempts"] >= 1,
            10,
            what="a failed attempt",
        )
    finally:
        first.send_signal(signal.SIGKILL)  # no clean shutdown: only what is on disk survives
        first.wait(10)
        first.stdout.close()
    with serve(RecordingServer(target_port)) as target:
        second = _start(tmp_path, port)
        try:
            wait_until(lambda: len(target.received) == 1, 30, what="delivery after the restart")
            # Alertmanager repeats the same notification after the restart: still one run.
            assert http("POST", f"{url}/alerts", body, auth)[1]["outcomes"] == {"duplicate": 1}
            (listed,) = http("GET", f"{url}/triggers", headers=auth)[1]["triggers"]
            wait_until(
                lambda: http("GET", f"{url}/triggers", headers=auth)[1]["triggers"][0]["state"] == "running",
                10,
                what="running",
            )
            assert listed["id"] == trigger_id
            assert len(target.received) == 1 and target.received[0].json()["trigger_id"] == trigger_id
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(10) == 0
            output = second.stdout.read()
            second.stdout.close()
    assert TOKEN not in output
