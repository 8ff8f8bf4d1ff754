"""modelmon's hardware collectors: the model container's CPU and memory (cgroup v1/v2), its process
(psutil), and GPUs (NVML, or a node's dcgm-exporter), as :class:`Sample` lists.

Every reader takes its root (``/sys/fs/cgroup``, ``/proc``) and its NVML handle as arguments. The
agent runs them on an interval and publishes the samples (``agent.hardware``); nothing here knows
about Kafka.
"""

from collectors.build import build_collectors
from collectors.cgroup import CgroupCollector, cgroup_version
from collectors.dcgm import DcgmCollector
from collectors.errors import CollectorError
from collectors.gpu import GpuCollector, PodPidFilter, load_nvml
from collectors.process import ProcessCollector
from collectors.samples import Collector, Sample
from collectors.settings import CollectorSettings

__all__ = [
    "CgroupCollector",
    "Collector",
    "CollectorError",
    "CollectorSettings",
    "DcgmCollector",
    "GpuCollector",
    "PodPidFilter",
    "ProcessCollector",
    "Sample",
    "build_collectors",
    "cgroup_version",
    "load_nvml",
]
