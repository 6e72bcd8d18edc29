"""Deleting audit history in small batches, then recording that it happened.

Each batch is its own short transaction, so a purge of millions of rows never
holds a long lock on `audit_event` and the consumer keeps inserting meanwhile.
Rows that arrive during the purge (higher ids) are left alone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from audit.events import repository
from audit.store import prepare_event, store_records
from shared.after_commit import defer
from shared.audit import AuditRecord, EventType
from shared.models.base import utcnow
from shared.runtime import Runtime


def cutoff_for(older_than_days: int, now: datetime) -> datetime | None:
    """0 means everything: no cutoff."""
    return now - timedelta(days=older_than_days) if older_than_days else None


def delete_events(factory: sessionmaker[Session], before: datetime | None) -> int:
    """Delete events older than `before` (all when None) that exist now; returns how many."""
    with factory() as session:
        up_to_id = repository.max_event_id(session)
    if up_to_id is None:
        return 0
    deleted = 0
    while True:
        with factory() as session:
            count = repository.delete_batch(session, up_to_id, before)
            session.commit()
        deleted += count
        if count < repository.PURGE_BATCH:
            return deleted


def record_purge(
    session: Session,
    runtime: Runtime,
    *,
    older_than_days: int,
    before: datetime | None,
    deleted: int,
    actor: dict[str, Any],
    reason: str,
) -> AuditRecord:
    """The purge event, written straight into the table (the first row of what remains).

    It is also put on the stream after commit, like every event; the consumer
    finds its uuid already stored and skips it.
    """
    record = AuditRecord(
        type=EventType.AUDIT_PURGED,
        occurred_at=utcnow(),
        details={
            "reason": reason,
            "older_than_days": older_than_days,
            "before": before.isoformat() if before else None,
            "deleted": deleted,
        },
        **actor,
    )
    store_records(session, [prepare_event(record)])
    defer(session, lambda: runtime.audit.emit_after_commit(record))
    return record
