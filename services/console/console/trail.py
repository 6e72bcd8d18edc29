"""Audit events of administrators' actions in the console (emitted after commit)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shared.admin_auth import AdminIdentity
from shared.after_commit import defer
from shared.audit import AuditRecord, EventType
from shared.runtime import Runtime


def record_admin_action(
    session: Session,
    runtime: Runtime,
    admin: AdminIdentity,
    event: EventType,
    *,
    details: dict[str, Any] | None = None,
) -> None:
    record = AuditRecord(type=event, details=details or {}, **admin.actor)
    defer(session, lambda: runtime.audit.emit_after_commit(record))
