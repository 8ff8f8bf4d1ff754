"""This pod's GPU series from a node's dcgm-exporter, when one is configured.

dcgm-exporter attributes a GPU to a pod only when the pod requested it as ``nvidia.com/gpu`` (and
then wholly); where that holds, its series labelled with our pod are read and renamed to ours, with
``source="dcgm"``. NVML (``collectors.gpu``) covers the shared and time-sliced cases.
"""

from __future__ import annotations

import logging
import urllib.request
from typing import Final

from prometheus_client.parser import text_string_to_metric_families

from collectors.samples import Sample

__all__ = ["DcgmCollector"]

log = logging.getLogger(__name__)

# dcgm-exporter field → our metric and the factor to its base unit
_FIELDS: Final = {
    "DCGM_FI_DEV_GPU_UTIL": ("gpu_utilization_ratio", 0.01),
    "DCGM_FI_DEV_MEM_COPY_UTIL": ("gpu_memory_utilization_ratio", 0.01),
    "DCGM_FI_DEV_FB_USED": ("gpu_memory_used_bytes", 1_048_576.0),
    "DCGM_FI_DEV_POWER_USAGE": ("gpu_power_watts", 1.0),
    "DCGM_FI_DEV_GPU_TEMP": ("gpu_temperature_celsius", 1.0),
    "DCGM_FI_DEV_SM_CLOCK": ("gpu_sm_clock_hertz", 1e6),
}


class DcgmCollector:
    """Reads ``url`` (dcgm-exporter's /metrics) and keeps the series of ``pod`` in ``namespace``."""

    name = "dcgm"

    def __init__(self, url: str, pod: str, namespace: str | None = None, timeout: float = 2.0) -> None:
        self.url = url
        self.pod = pod
        self.namespace = namespace
        self.timeout = timeout
        self._failing = False

    def collect(self) -> list[Sample]:
        try:
            with urllib.request.urlopen(self.url, timeout=self.timeout) as response:  # noqa: S310 - a configured URL
                text = response.read().decode("utf-8", "replace")
        except OSError as exc:
            if not self._failing:
                log.info("dcgm-exporter at %s is not answering (%s): no DCGM samples", self.url, exc)
                self._failing = True
            return []
        self._failing = False
        found = []
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                field = _FIELDS.get(sample.name)
                labels = sample.labels
                if field is None or labels.get("pod") != self.pod:
                    continue
                if self.namespace and labels.get("namespace") not in (None, self.namespace):
                    continue
                metric, factor = field
                found.append(
                    Sample(
                        metric,
                        sample.value * factor,
                        {
                            "gpu": labels.get("gpu", ""),
                            "gpu_uuid": labels.get("UUID", ""),
                            "gpu_model": labels.get("modelName", ""),
                            "source": "dcgm",
                        },
                    )
                )
        return found
