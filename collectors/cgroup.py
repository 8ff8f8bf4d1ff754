"""Container CPU and memory from the cgroup filesystem, v2 (unified) or v1 (per controller).

Which cgroup is read: with ``pid`` (the model server's process, visible when the pod shares its
process namespace) the one ``/proc/<pid>/cgroup`` names, if it can be found under ``root`` — that
takes a read-only mount of the node's cgroup filesystem, since a container's own ``/sys/fs/cgroup``
shows only itself. Otherwise the agent's own view: the root of what is mounted, its own
container. Samples carry ``container="model"`` or ``container="agent"`` to say which.

The working set is what the kubelet evicts on: usage minus inactive file pages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Final

from collectors.samples import Sample

__all__ = ["CgroupCollector", "cgroup_version"]

log = logging.getLogger(__name__)

_UNLIMITED_V1: Final = 1 << 62  # v1 writes "no limit" as the largest page-aligned 63-bit number


def _whose(model: bool) -> dict[str, str]:
    return {"container": "model" if model else "agent"}


def cgroup_version(root: Path) -> int | None:
    """2 for the unified hierarchy, 1 for per-controller directories, None when neither is there."""
    if (root / "cgroup.controllers").exists():
        return 2
    if (root / "memory").is_dir() or (root / "cpuacct").is_dir() or (root / "cpu,cpuacct").is_dir():
        return 1
    return None


def _int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if text == "max":
        return None
    try:
        return int(text.split()[0])
    except (ValueError, IndexError):
        return None


def _keyed(path: Path) -> dict[str, int]:
    """``key value`` lines (cpu.stat, memory.stat, memory.events, memory.oom_control)."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    values = {}
    for line in lines:
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            values[parts[0]] = int(parts[1])
    return values


class CgroupCollector:
    """See the module docstring. ``root`` and ``proc_root`` are arguments, so tests read fixture trees.

    ``pid`` is the model server's process id, or a function giving it each cycle (it changes when
    the model restarts). ``own_view``: ``root`` is the agent's own cgroup mount, so when the model's
    cgroup cannot be found its own container is reported (``container="agent"``); with a node's
    mount (``own_view=False``) nothing is reported then, rather than the node's root. ``pod_uid``
    finds the pod's cgroup on the node for a path seen through a cgroup namespace (``/../<leaf>``).
    """

    name = "cgroup"

    def __init__(
        self,
        root: Path,
        proc_root: Path = Path("/proc"),
        pid: int | Callable[[], int | None] | None = None,
        *,
        own_view: bool = True,
        pod_uid: str | None = None,
    ) -> None:
        self.root = root
        self.proc_root = proc_root
        self.pid = pid
        self.own_view = own_view
        self.pod_uid = pod_uid
        self._pod_dirs: dict[Path, Path | None] = {}
        self.version = cgroup_version(root)
        if self.version is None:
            log.info("no cgroup filesystem under %s: container CPU and memory are not collected", root)

    def _current_pid(self) -> int | None:
        return self.pid() if callable(self.pid) else self.pid

    def _memberships(self) -> dict[str, str]:
        """controller (or "" for v2) → path, from ``/proc/<pid>/cgroup``."""
        pid = self._current_pid()
        if pid is None:
            return {}
        try:
            lines = (self.proc_root / str(pid) / "cgroup").read_text().splitlines()
        except OSError:
            return {}
        found = {}
        for line in lines:
            parts = line.split(":", 2)
            if len(parts) == 3:
                for controller in parts[1].split(",") if parts[1] else [""]:
                    found[controller] = parts[2]
        return found

    def _pod_dir(self, base: Path) -> Path | None:
        """The pod's cgroup under ``base`` (a node's mount), found once by its UID."""
        if base not in self._pod_dirs:
            found = None
            if self.pod_uid:
                marks = (f"pod{self.pod_uid}", f"pod{self.pod_uid.replace('-', '_')}")
                found = next(
                    (p for mark in marks for p in sorted(base.glob(f"**/*{mark}*")) if p.is_dir()), None
                )
            self._pod_dirs[base] = found
        return self._pod_dirs[base]

    def _dir(
        self, controller_dir: str, controller: str, memberships: dict[str, str]
    ) -> tuple[Path | None, bool]:
        """The cgroup directory to read and whether it is the model's; None: nothing honest to read."""
        base = self.root / controller_dir if controller_dir else self.root
        path = memberships.get(controller, "")
        candidate: Path | None = None
        if path.startswith("/../"):  # seen through a cgroup namespace: a sibling of our own container
            parts = path.split("/")
            pod = self._pod_dir(base)
            if len(parts) == 3 and pod is not None:
                candidate = pod / parts[2]
        elif path not in ("", "/"):  # "/" is the root (or our namespace's): not the model's container
            candidate = base / path.lstrip("/")
        if candidate is not None and candidate.is_dir():
            return candidate, True
        if self.own_view:
            return base, False
        return None, False

    def collect(self) -> list[Sample]:
        if self.version is None:
            return []
        memberships = self._memberships()
        if self.version == 2:
            return self._v2(memberships)
        return self._v1(memberships)

    def _v2(self, memberships: dict[str, str]) -> list[Sample]:
        folder, model = self._dir("", "", memberships)
        if folder is None:
            return []
        labels = _whose(model)
        found: list[Sample] = []
        cpu = _keyed(folder / "cpu.stat")
        if "usage_usec" in cpu:
            found.append(Sample("container_cpu_usage_seconds_total", cpu["usage_usec"] / 1e6, labels))
        if "nr_periods" in cpu:
            found.append(Sample("container_cpu_periods_total", cpu["nr_periods"], labels))
            found.append(Sample("container_cpu_throttled_periods_total", cpu.get("nr_throttled", 0), labels))
            found.append(
                Sample("container_cpu_throttled_seconds_total", cpu.get("throttled_usec", 0) / 1e6, labels)
            )
        try:
            quota, period = (folder / "cpu.max").read_text().split()
            if quota != "max":
                found.append(Sample("container_cpu_limit_cores", int(quota) / int(period), labels))
        except (OSError, ValueError):
            pass
        stat = _keyed(folder / "memory.stat")
        found += self._memory(
            _int(folder / "memory.current"), stat.get("inactive_file"), stat.get("anon"), labels
        )
        limit = _int(folder / "memory.max")
        if limit is not None:
            found.append(Sample("container_memory_limit_bytes", limit, labels))
        events = _keyed(folder / "memory.events")
        if "oom_kill" in events:
            found.append(Sample("container_oom_kills_total", events["oom_kill"], labels))
        return found

    def _v1(self, memberships: dict[str, str]) -> list[Sample]:
        found: list[Sample] = []
        cpuacct_dir = "cpuacct" if (self.root / "cpuacct").is_dir() else "cpu,cpuacct"
        folder, model = self._dir(cpuacct_dir, "cpuacct", memberships)
        if folder is not None:
            usage = _int(folder / "cpuacct.usage")
            if usage is not None:
                found.append(Sample("container_cpu_usage_seconds_total", usage / 1e9, _whose(model)))
        cpu_dir = "cpu" if (self.root / "cpu").is_dir() else "cpu,cpuacct"
        folder, model = self._dir(cpu_dir, "cpu", memberships)
        if folder is not None:
            labels = _whose(model)
            cpu = _keyed(folder / "cpu.stat")
            if "nr_periods" in cpu:
                found.append(Sample("container_cpu_periods_total", cpu["nr_periods"], labels))
                found.append(
                    Sample("container_cpu_throttled_periods_total", cpu.get("nr_throttled", 0), labels)
                )
                found.append(
                    Sample(
                        "container_cpu_throttled_seconds_total", cpu.get("throttled_time", 0) / 1e9, labels
                    )
                )
            quota, period = _int(folder / "cpu.cfs_quota_us"), _int(folder / "cpu.cfs_period_us")
            if quota is not None and quota > 0 and period:
                found.append(Sample("container_cpu_limit_cores", quota / period, labels))
        folder, model = self._dir("memory", "memory", memberships)
        if folder is not None:
            labels = _whose(model)
            stat = _keyed(folder / "memory.stat")
            rss = stat.get("total_rss", stat.get("rss"))
            inactive = stat.get("total_inactive_file", stat.get("inactive_file"))
            found += self._memory(_int(folder / "memory.usage_in_bytes"), inactive, rss, labels)
            limit = _int(folder / "memory.limit_in_bytes")
            if limit is not None and limit < _UNLIMITED_V1:
                found.append(Sample("container_memory_limit_bytes", limit, labels))
            oom = _keyed(folder / "memory.oom_control")
            if "oom_kill" in oom:
                found.append(Sample("container_oom_kills_total", oom["oom_kill"], labels))
        return found

    @staticmethod
    def _memory(
        usage: int | None, inactive_file: int | None, rss: int | None, labels: dict[str, str]
    ) -> list[Sample]:
        found = []
        if usage is not None:
            found.append(Sample("container_memory_usage_bytes", usage, labels))
            working_set = max(0, usage - (inactive_file or 0))
            found.append(Sample("container_memory_working_set_bytes", working_set, labels))
        if rss is not None:
            found.append(Sample("container_memory_rss_bytes", rss, labels))
        return found
