"""The one-machine stack's launchers start the real servers and stop them by PID."""

import os

import pytest

from deploy.alertmanager import LocalAlertmanager

pytestmark = pytest.mark.e2e


def test_alertmanager_starts_accepts_an_alert_and_stops(alertmanager):
    import json
    import urllib.request

    with LocalAlertmanager() as server:
        alert = [{"labels": {"alertname": "ModelmonSmoke", "model": "m"}, "annotations": {"summary": "x"}}]
        request = urllib.request.Request(
            f"{server.url}/api/v2/alerts",
            data=json.dumps(alert).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
        assert [a["labels"]["alertname"] for a in server.alerts()] == ["ModelmonSmoke"]
        pid = server.pid
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
