"""How a service hands an OTP delivery to the otp-delivery worker (producer side only)."""

from __future__ import annotations

from typing import Any, Protocol

from celery import Celery

from shared.otp_contract import OTP_QUEUE, OTP_TASK_NAME, OtpDeliveryTask, task_repr, to_message
from shared.security.encryption import SecretBox
from shared.settings import Settings


class OtpSender(Protocol):
    def __call__(self, task: OtpDeliveryTask) -> None: ...


def celery_broker_options(settings: Settings) -> dict[str, Any]:
    """Broker options producer and worker must agree on.

    Every Celery key (queue, unacked set, pidbox) sits under the deployment's
    Redis prefix, so two deployments or test runs sharing a Redis never see
    each other's tasks.
    """
    visibility = settings.otp_visibility_timeout_seconds
    return {
        "global_keyprefix": f"{settings.redis_prefix}celery:",
        "visibility_timeout": visibility,
        # Sweep for messages a crashed worker left unacknowledged often enough
        # that one comes back soon after its visibility timeout ends.
        "unacked_restore_interval": max(1, min(10, visibility // 6)),
        "unacked_restore_throttle": 1,
    }


class CeleryOtpSender:
    """Enqueues on the Redis broker; the task expires with the code: a stale one is never sent."""

    def __init__(
        self, broker_url: str, box: SecretBox, transport_options: dict[str, Any] | None = None
    ) -> None:
        self._box = box
        self._celery = Celery("identity-producer", broker=broker_url)
        self._celery.conf.broker_connection_retry_on_startup = True
        self._celery.conf.broker_transport_options = transport_options or {}

    @classmethod
    def from_settings(cls, settings: Settings, box: SecretBox) -> CeleryOtpSender:
        return cls(settings.redis_url, box, celery_broker_options(settings))

    def __call__(self, task: OtpDeliveryTask) -> None:
        self._celery.send_task(
            OTP_TASK_NAME,
            kwargs={"payload": to_message(task, self._box)},
            # Celery would copy repr(kwargs) into the headers, worker events and monitors.
            argsrepr="()",
            kwargsrepr=task_repr(task),
            queue=OTP_QUEUE,
            expires=task.expires_at,
            task_id=str(task.delivery_id),
        )
