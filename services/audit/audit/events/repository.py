"""SQL for audit events: filtered, newest first, keyset-paged; deleted in small batches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, delete, func, or_, select
from sqlalchemy.orm import Session

from shared.models.audit import AuditEvent

PURGE_BATCH = 5000


@dataclass(frozen=True)
class EventFilter:
    types: tuple[str, ...] = ()
    user_id: str | None = None
    application_id: str | None = None
    ip: str | None = None
    outcome: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


@dataclass(frozen=True)
class Position:
    """Where a page ended: the last row's (occurred_at, id)."""

    occurred_at: datetime
    id: int


def filtered_events(f: EventFilter) -> Select[AuditEvent]:
    query = select(AuditEvent)
    if f.types:
        query = query.where(AuditEvent.type.in_(f.types))
    if f.user_id:
        query = query.where(AuditEvent.subject_user_id == f.user_id)
    if f.application_id:
        query = query.where(AuditEvent.application_id == f.application_id)
    if f.ip:
        query = query.where(AuditEvent.effective_ip == f.ip)
    if f.outcome:
        query = query.where(AuditEvent.outcome == f.outcome)
    if f.since is not None:
        query = query.where(AuditEvent.occurred_at >= f.since)
    if f.until is not None:
        query = query.where(AuditEvent.occurred_at < f.until)
    return query


def _after(query: Select[AuditEvent], after: Position | None) -> Select[AuditEvent]:
    if after is None:
        return query
    # The first condition alone is an index range; the second breaks ties on id.
    return query.where(
        AuditEvent.occurred_at <= after.occurred_at,
        or_(
            AuditEvent.occurred_at < after.occurred_at,
            and_(AuditEvent.occurred_at == after.occurred_at, AuditEvent.id < after.id),
        ),
    )


def page_events(
    session: Session, f: EventFilter, after: Position | None, limit: int
) -> list[AuditEvent]:
    """Up to `limit` events newest first, strictly after `after` in that order."""
    query = _after(filtered_events(f), after)
    query = query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(limit)
    return list(session.scalars(query))


def iter_pages(session: Session, f: EventFilter, batch: int = 1000) -> Iterator[list[AuditEvent]]:
    """Every matching event newest first, a page at a time (flat memory)."""
    after: Position | None = None
    while True:
        rows = page_events(session, f, after, batch)
        if rows:
            yield rows
        if len(rows) < batch:
            return
        after = Position(rows[-1].occurred_at, rows[-1].id)
        session.expunge_all()


def max_event_id(session: Session) -> int | None:
    return session.scalar(select(func.max(AuditEvent.id)))


def delete_batch(session: Session, up_to_id: int, before: datetime | None) -> int:
    """Delete up to PURGE_BATCH of the oldest rows with id <= up_to_id (and older than `before`)."""
    query = select(AuditEvent.id).where(AuditEvent.id <= up_to_id)
    if before is None:
        query = query.order_by(AuditEvent.id)
    else:
        # Walk the occurred_at index: the last batch then stops at the cutoff, not at the end.
        query = query.where(AuditEvent.occurred_at < before).order_by(AuditEvent.occurred_at)
    ids = list(session.scalars(query.limit(PURGE_BATCH)))
    if not ids:
        return 0
    session.execute(delete(AuditEvent).where(AuditEvent.id.in_(ids)))
    return len(ids)
