"""The model server's process (and the workers it forked), through psutil: CPU, memory, threads, files.

The agent sees the model's processes when the pod shares its process namespace
(``shareProcessNamespace: true``, which the injector sets). The model is found by its process id,
or by a substring of its command line, again each cycle if it restarted. Figures are summed over
the process and its descendants (a server's worker processes).
"""

from __future__ import annotations

import logging
from pathlib import Path

import psutil

from collectors.samples import Sample

__all__ = ["ProcessCollector"]

log = logging.getLogger(__name__)


class ProcessCollector:
    """``pid`` or ``match`` names the model process; ``proc_root`` is psutil's /proc (its one global)."""

    name = "process"

    def __init__(
        self, pid: int | None = None, match: str | None = None, proc_root: Path = Path("/proc")
    ) -> None:
        if str(proc_root) != psutil.PROCFS_PATH:
            psutil.PROCFS_PATH = str(proc_root)  # psutil reads one /proc for the whole process
        self.pid = pid
        self.match = match
        self._process: psutil.Process | None = None
        self._missing_logged = False
        # CPU seconds of workers that exited, and the last seen of each live one (by pid and start
        # time): the exported total only grows, so rate() sees no false reset when a worker recycles.
        self._exited_cpu = 0.0
        self._last_cpu: dict[tuple[int, float], float] = {}

    def _find(self) -> psutil.Process | None:
        if self._process is not None and self._process.is_running():
            return self._process
        self._process = None
        try:
            if self.pid is not None:
                self._process = psutil.Process(self.pid)
            elif self.match:
                for process in psutil.process_iter(["cmdline"]):
                    cmdline = " ".join(process.info.get("cmdline") or [])
                    if self.match in cmdline and process.pid != psutil.Process().pid:
                        self._process = process
                        break
        except psutil.Error:
            self._process = None
        if self._process is None and not self._missing_logged:
            log.info(
                "the model process (pid %s, match %r) is not visible: no process metrics",
                self.pid,
                self.match,
            )
            self._missing_logged = True
        elif self._process is not None:
            self._missing_logged = False
        return self._process

    def current_pid(self) -> int | None:
        """The model process's id now (found again after a restart), for the cgroup collector."""
        process = self._find() if (self.pid is not None or self.match) else None
        return process.pid if process is not None else None

    def collect(self) -> list[Sample]:
        if self.pid is None and not self.match:
            return []
        root = self._find()
        if root is None:
            return []
        rss = 0.0
        threads = 0
        files: int | None = 0
        live: dict[tuple[int, float], float] = {}
        try:
            family = [root, *root.children(recursive=True)]
        except psutil.Error:
            self._process = None
            return []
        for process in family:
            try:
                with process.oneshot():
                    if process.status() == psutil.STATUS_ZOMBIE:  # exited, not reaped yet: gone
                        continue
                    times = process.cpu_times()
                    live[(process.pid, process.create_time())] = times.user + times.system
                    rss += process.memory_info().rss
                    threads += process.num_threads()
                    if files is not None:
                        try:
                            files += process.num_fds()
                        except psutil.AccessDenied:  # another user's process: no figure, not a guess
                            files = None
            except psutil.Error:  # a worker that exited meanwhile
                continue
        self._exited_cpu += sum(cpu for key, cpu in self._last_cpu.items() if key not in live)
        self._last_cpu = live
        found = [
            Sample("model_process_cpu_seconds_total", self._exited_cpu + sum(live.values())),
            Sample("model_process_resident_memory_bytes", rss),
            Sample("model_process_threads", threads),
            Sample("model_processes", len(live)),
        ]
        if files is not None:
            found.append(Sample("model_process_open_fds", files))
        return found
