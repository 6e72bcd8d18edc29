"""SQL for audit events: filtered, newest first, keyset-paged; deleted in small batches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, delete, func, not_, or_, select
from sqlalchemy.orm import Session

from shared.audit import EventType
from shared.models.audit import AuditEvent

PURGE_BATCH = 5000
# The events whose target is an API key (named in their details, not in a column).
KEY_EVENTS = (EventType.ADMIN_KEY_CREATED.value, EventType.ADMIN_KEY_DELETED.value)


@dataclass(frozen=True)
class EventFilter:
    types: tuple[str, ...] = ()
    user_id: str | None = None
    application_id: str | None = None
    ip: str | None = None
    outcome: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    actor_type: str | None = None  # admin | app | user | system
    actor: str | None = None  # the actor's id or name, exactly
    target_type: str | None = None  # user | application | api_key


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
    if f.actor_type:
        query = query.where(AuditEvent.actor_type == f.actor_type)
    if f.actor:
        query = query.where(or_(AuditEvent.actor_id == f.actor, AuditEvent.actor_name == f.actor))
    if f.target_type:
        query = query.where(target_condition(f.target_type))
    if f.since is not None:
        query = query.where(AuditEvent.occurred_at >= f.since)
    if f.until is not None:
        query = query.where(AuditEvent.occurred_at < f.until)
    return query


def target_condition(target_type: str) -> Any:
    """The rows whose target (see `service.target_of`) is of this type."""
    no_user = AuditEvent.subject_user_id.is_(None)
    if target_type == "user":
        return AuditEvent.subject_user_id.is_not(None)
    if target_type == "api_key":
        return and_(no_user, AuditEvent.type.in_(KEY_EVENTS))
    # An application is the target unless it is the one acting (its own API calls).
    return and_(
        no_user,
        AuditEvent.application_id.is_not(None),
        AuditEvent.type.not_in(KEY_EVENTS),
        not_(
            and_(AuditEvent.actor_type == "app", AuditEvent.actor_id == AuditEvent.application_id)
        ),
    )


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
