"""Audit events of the otp-delivery service, emitted only once the write has committed."""

from __future__ import annotations

from typing import Any

from shared.audit import AuditRecord, EventType, Outcome
from shared.runtime import Runtime


def record_delivery(
    runtime: Runtime,
    event: EventType,
    *,
    user_id: str | None,
    application_id: str | None,
    details: dict[str, Any],
) -> None:
    """A worker's delivery outcome (the delivery log row is already committed)."""
    outcome = Outcome.SUCCESS if event is EventType.OTP_SENT else Outcome.FAILURE
    runtime.audit.emit_after_commit(
        AuditRecord(
            type=event,
            outcome=outcome,
            actor_type="system",
            actor_name="otp-delivery",
            subject_user_id=user_id,
            application_id=application_id,
            details=details,
        )
    )
