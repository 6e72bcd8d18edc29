"""Handing a code or recovery token to OTP delivery, once the transaction has committed."""

from __future__ import annotations

import structlog
from sqlalchemy.orm import Session

from shared.after_commit import defer
from shared.audit import AuditRecord, EventType, Outcome
from shared.contact import mask_destination
from shared.otp_contract import OtpDeliveryTask
from shared.runtime import Runtime

log = structlog.get_logger("auth.delivery")


def send_after_commit(
    session: Session, runtime: Runtime, task: OtpDeliveryTask, secret: str
) -> None:
    """The secret travels encrypted; only the delivery worker decrypts it."""
    task = task.model_copy(update={"secret_encrypted": runtime.box.encrypt(secret)})
    defer(session, lambda: _deliver(runtime, task))


def _deliver(runtime: Runtime, task: OtpDeliveryTask) -> None:
    if runtime.otp_sender is None and runtime.settings.is_dev:
        # Embedded dev mode without a delivery worker: the code goes to the console log.
        secret = runtime.box.decrypt(task.secret_encrypted or "")
        log.warning(
            "dev_otp_delivery",
            message=f"{task.purpose.value} for {task.destination} via {task.channel.value}: "
            f"{secret}",
        )
        return
    try:
        runtime.send_otp(task)
    except Exception as exc:  # broker down: the caller already has its 202; say so loudly
        log.error("otp_enqueue_failed", delivery_id=str(task.delivery_id), error=str(exc))
        runtime.audit.emit_after_commit(
            AuditRecord(
                type=EventType.OTP_DELIVERY_FAILED,
                outcome=Outcome.FAILURE,
                actor_type="system",
                subject_user_id=task.user_id,
                application_id=task.application_id,
                details={
                    "channel": task.channel.value,
                    "destination": mask_destination(task.destination),
                    "error": "enqueue_failed",
                },
            )
        )
