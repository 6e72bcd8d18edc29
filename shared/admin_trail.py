"""The audit event of an administrator's action, emitted only once the write has committed.

Every service's admin API records its actions through this one function, so
each event names the administrator, where they called from, the target and
the before/after of what changed (masked on its way to the stream).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from shared.admin_auth import AdminIdentity
from shared.after_commit import defer
from shared.audit import AuditRecord, EventType, Outcome

if TYPE_CHECKING:
    from shared.runtime import Runtime


def record_admin_action(
    session: Session,
    runtime: Runtime,
    admin: AdminIdentity,
    event: EventType,
    *,
    subject_user_id: uuid.UUID | None = None,
    application_id: uuid.UUID | None = None,
    outcome: Outcome = Outcome.SUCCESS,
    details: dict[str, Any] | None = None,
) -> None:
    record = AuditRecord(
        type=event,
        outcome=outcome,
        subject_user_id=str(subject_user_id) if subject_user_id else None,
        application_id=str(application_id) if application_id else None,
        details=details or {},
        **admin.actor,
    )
    defer(session, lambda: runtime.audit.emit_after_commit(record))
