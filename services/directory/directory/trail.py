"""What a directory write tells the rest of the system, once it has committed."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from shared.admin_auth import AdminIdentity
from shared.after_commit import defer
from shared.audit import AuditRecord, EventType
from shared.directory_events import DirectoryEvent, publish_directory_events
from shared.invalidation import Topic
from shared.runtime import Runtime


def record_admin_action(
    session: Session,
    runtime: Runtime,
    admin: AdminIdentity,
    event: EventType,
    *,
    subject_user_id: uuid.UUID | None = None,
    application_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    record = AuditRecord(
        type=event,
        subject_user_id=str(subject_user_id) if subject_user_id else None,
        application_id=str(application_id) if application_id else None,
        details=details or {},
        **admin.actor,
    )
    defer(session, lambda: runtime.audit.emit_after_commit(record))


def announce(
    session: Session,
    runtime: Runtime,
    events: list[DirectoryEvent] | None = None,
    topics: tuple[Topic, ...] = (),
) -> None:
    """Directory events (auth ends sessions) and cache invalidations, after commit."""
    if events:
        items = list(events)
        defer(
            session,
            lambda: publish_directory_events(runtime.redis, runtime.keys.directory_events, items),
        )
    for topic in topics:
        defer(session, lambda t=topic: runtime.bus.publish(t))  # type: ignore[misc]
