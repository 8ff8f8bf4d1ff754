"""modelmon's sidecar agent: capture, batching, delivery, and the contracts every component shares.

The agent is the lowest layer: it owns the model catalog (``agent.catalog``), the wire format
(``agent.wire``) and the metric catalog (``agent.metric_catalog``), so the sidecar never imports
the aggregator. Heavy modules (pandas, scipy, evidently, grafanalib) are never imported here.
"""

from agent.errors import AgentError, CatalogError, ConfigError, EncodeError, PublisherClosedError
from agent.publisher import Publisher, PublisherStats
from agent.sdk import PredictionLogger, log_labels, log_predictions
from agent.settings import KafkaSettings, PublisherSettings

__all__ = [
    "AgentError",
    "CatalogError",
    "ConfigError",
    "EncodeError",
    "KafkaSettings",
    "PredictionLogger",
    "Publisher",
    "PublisherClosedError",
    "PublisherSettings",
    "PublisherStats",
    "log_labels",
    "log_predictions",
]
