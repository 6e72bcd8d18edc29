"""How a service hands an OTP delivery to the otp-delivery worker (producer side only)."""

from __future__ import annotations

from typing import Protocol

from celery import Celery

from shared.otp_contract import OTP_QUEUE, OTP_TASK_NAME, OtpDeliveryTask


class OtpSender(Protocol):
    def __call__(self, task: OtpDeliveryTask) -> None: ...


class CeleryOtpSender:
    """Enqueues on the Redis broker; the task expires with the code: a stale one is never sent."""

    def __init__(self, broker_url: str) -> None:
        self._celery = Celery("identity-producer", broker=broker_url)
        self._celery.conf.broker_connection_retry_on_startup = True

    def __call__(self, task: OtpDeliveryTask) -> None:
        self._celery.send_task(
            OTP_TASK_NAME,
            kwargs={"payload": task.model_dump(mode="json")},
            queue=OTP_QUEUE,
            expires=task.expires_at,
            task_id=str(task.delivery_id),
        )
