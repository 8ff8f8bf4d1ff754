"""modelmon's aggregator: a pure core (``drift.core``) and its Kafka/Prometheus adapters."""

__all__: list[str] = []
