"""Audit events of the otp-delivery service, emitted only once the write has committed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shared.admin_auth import AdminIdentity
from shared.after_commit import defer
from shared.audit import AuditRecord, EventType, Outcome
from shared.runtime import Runtime


def record_admin_action(
    session: Session,
    runtime: Runtime,
    admin: AdminIdentity,
    event: EventType,
    *,
    outcome: Outcome = Outcome.SUCCESS,
    details: dict[str, Any] | None = None,
) -> None:
    record = AuditRecord(type=event, outcome=outcome, details=details or {}, **admin.actor)
    defer(session, lambda: runtime.audit.emit_after_commit(record))


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
