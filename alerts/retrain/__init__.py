"""The retraining service: Alertmanager webhooks in, durable triggers out to the user's pipeline."""

from alerts.retrain.auth import Authenticator
from alerts.retrain.errors import AuthError, DeliveryError, PayloadError, RetrainError, TargetConfigError
from alerts.retrain.evidence import build_evidence
from alerts.retrain.notification import Alert, Notification, parse_notification
from alerts.retrain.outbox import Outbox
from alerts.retrain.service import RetrainService
from alerts.retrain.settings import RetrainSettings
from alerts.retrain.trigger import Delivered, Trigger, TriggerState

__all__ = [
    "Alert",
    "AuthError",
    "Authenticator",
    "Delivered",
    "DeliveryError",
    "Notification",
    "Outbox",
    "PayloadError",
    "RetrainError",
    "RetrainService",
    "RetrainSettings",
    "TargetConfigError",
    "Trigger",
    "TriggerState",
    "build_evidence",
    "parse_notification",
]
