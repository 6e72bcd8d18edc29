"""The embedded dev mode's sender: no broker, no worker; the same delivery runs in a thread."""

from __future__ import annotations

import threading
import time

import structlog

from otp_delivery.delivery import DeliveryRunner, Outcome, backoff_seconds
from shared.contact import mask_destination
from shared.models.base import utcnow
from shared.otp_contract import OtpDeliveryTask
from shared.runtime import Runtime

log = structlog.get_logger("otp_delivery.inline")


class InlineOtpSender:
    """Runs each delivery in a daemon thread so the request that asked for it returns at once."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.runner = DeliveryRunner(runtime)

    def __call__(self, task: OtpDeliveryTask) -> None:
        if self.runtime.settings.is_dev and task.secret_encrypted:
            # Dev only: with no real provider configured this is how a developer gets the code.
            secret = self.runtime.box.decrypt(task.secret_encrypted)
            log.info(f"dev delivery to {mask_destination(task.destination)}: {secret}")
        thread = threading.Thread(
            target=self._run, args=(task,), name=f"otp-{task.delivery_id}", daemon=True
        )
        thread.start()

    def _run(self, task: OtpDeliveryTask) -> None:
        try:
            self.deliver(task)
        except Exception:  # a thread has nobody to raise to
            log.exception("otp_inline_delivery_crashed", delivery_id=str(task.delivery_id))

    def deliver(self, task: OtpDeliveryTask) -> Outcome:
        """The worker's loop without Celery: attempt, back off, give up as the worker would."""
        settings = self.runtime.settings
        while True:
            result = self.runner.attempt(task)
            if result.outcome not in (Outcome.RETRY, Outcome.BUSY):
                return result.outcome
            wait = backoff_seconds(settings, max(result.attempts, 1))
            too_late = (task.expires_at - utcnow()).total_seconds() <= wait
            if result.outcome is Outcome.RETRY and (
                result.attempts >= settings.otp_max_attempts or too_late
            ):
                self.runner.fail(
                    task,
                    result.provider,
                    f"gave up: {result.error}",
                    result.provider_status,
                    result.attempts,
                )
                return Outcome.FAILED
            time.sleep(wait)
