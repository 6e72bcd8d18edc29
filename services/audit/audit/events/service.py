"""Searching, exporting and purging the audit log."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import orjson
from sqlalchemy.orm import Session

from audit import names, purge
from audit.events import repository
from audit.events.repository import EventFilter, Position
from audit.events.schemas import ActorOut, EventOut, EventPage, TargetOut
from shared.admin_auth import AdminIdentity
from shared.audit import EventType, Outcome
from shared.client_ip import parse_ip
from shared.errors import Unprocessable
from shared.models.audit import AuditEvent
from shared.models.base import utcnow
from shared.runtime import Runtime


class InvalidCursor(Unprocessable):
    code = "invalid_cursor"
    message = "The cursor is not one this API returned."


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def build_filter(
    types: Sequence[EventType],
    user_id: str | None,
    application_id: str | None,
    ip: str | None,
    outcome: Outcome | None,
    since: datetime | None,
    until: datetime | None,
    *,
    actor_type: str | None = None,
    actor: str | None = None,
    target_type: str | None = None,
) -> EventFilter:
    """The filter from query parameters; naive times are UTC."""
    address = None
    if ip is not None:
        parsed = parse_ip(ip)
        if parsed is None:
            raise Unprocessable("ip: not an IPv4 or IPv6 address", code="invalid_ip")
        address = str(parsed)
    since, until = _utc(since), _utc(until)
    if since is not None and until is not None and since > until:
        raise Unprocessable("from: must not be later than to", code="invalid_range")
    return EventFilter(
        types=tuple(dict.fromkeys(str(t) for t in types)),
        user_id=user_id,
        application_id=application_id,
        ip=address,
        outcome=str(outcome) if outcome else None,
        since=since,
        until=until,
        actor_type=actor_type,
        actor=(actor or "").strip() or None,
        target_type=target_type,
    )


def encode_cursor(event: AuditEvent) -> str:
    raw = orjson.dumps([event.occurred_at.isoformat(), event.id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, event_id = orjson.loads(raw)
        occurred_at = datetime.fromisoformat(stamp)
        if not isinstance(event_id, int) or occurred_at.tzinfo is None:
            raise ValueError("malformed")
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidCursor() from exc
    return Position(occurred_at, event_id)


def target_of(
    event: AuditEvent, users: dict[str, str], apps: dict[str, str]
) -> tuple[str, str | None, str | None] | None:
    """What the event acted on, as (type, id, name): the user it is about, else the API key
    its details name, else the application (unless that application is the actor itself).
    Names are the current ones; a deleted user or application keeps its id only."""
    if event.subject_user_id:
        return "user", event.subject_user_id, users.get(event.subject_user_id)
    if event.type in repository.KEY_EVENTS:
        details = event.details or {}
        key = details.get("after") or details.get("before") or {}
        app_name = key.get("application_name") or apps.get(event.application_id or "")
        label = f"{key.get('prefix', '')}… of {app_name}" if app_name else key.get("prefix")
        return "api_key", key.get("key_id"), label
    acting_app = event.actor_type == "app" and event.actor_id == event.application_id
    if event.application_id and not acting_app:
        return "application", event.application_id, apps.get(event.application_id)
    return None


def to_out(event: AuditEvent, users: dict[str, str], apps: dict[str, str]) -> EventOut:
    target = target_of(event, users, apps)
    return EventOut(
        id=event.id,
        uuid=event.uuid,
        type=event.type,
        outcome=event.outcome,
        occurred_at=event.occurred_at,
        actor=ActorOut(type=event.actor_type, id=event.actor_id, name=event.actor_name),
        target=TargetOut(type=target[0], id=target[1], name=target[2]) if target else None,
        subject_user_id=event.subject_user_id,
        subject_user_name=users.get(event.subject_user_id or ""),
        application_id=event.application_id,
        application_name=apps.get(event.application_id or ""),
        effective_ip=event.effective_ip,
        forwarded_ip=event.forwarded_ip,
        remote_addr=event.remote_addr,
        user_agent=event.user_agent,
        details=event.details or {},
    )


def list_events(db: Session, f: EventFilter, cursor: str | None, limit: int) -> EventPage:
    after = decode_cursor(cursor) if cursor else None
    # One extra row tells whether an older page exists.
    rows = repository.page_events(db, f, after, limit + 1)
    page, more = rows[:limit], len(rows) > limit
    users = names.user_names(db, (e.subject_user_id for e in page))
    apps = names.application_names(db, (e.application_id for e in page))
    return EventPage(
        items=[to_out(e, users, apps) for e in page],
        next_cursor=encode_cursor(page[-1]) if more else None,
    )


EXPORT_COLUMNS = (
    "occurred_at",
    "date",
    "time",
    "event",
    "outcome",
    "user",
    "user_id",
    "actor_type",
    "actor_id",
    "actor_name",
    "target_type",
    "target_id",
    "target",
    "application",
    "application_id",
    "effective_ip",
    "forwarded_ip",
    "remote_address",
    "user_agent",
    "details",
    "uuid",
)


def export_rows(session: Session, f: EventFilter) -> Iterator[list[object]]:
    """CSV rows (EXPORT_COLUMNS) newest first; names looked up a page at a time."""
    for page in repository.iter_pages(session, f):
        users = names.user_names(session, (e.subject_user_id for e in page))
        apps = names.application_names(session, (e.application_id for e in page))
        for e in page:
            stamp = e.occurred_at
            target = target_of(e, users, apps) or (None, None, None)
            yield [
                stamp.isoformat(),
                stamp.date().isoformat(),
                stamp.time().isoformat(timespec="seconds"),
                e.type,
                e.outcome,
                users.get(e.subject_user_id or ""),
                e.subject_user_id,
                e.actor_type,
                e.actor_id,
                e.actor_name,
                *target,
                apps.get(e.application_id or ""),
                e.application_id,
                e.effective_ip,
                e.forwarded_ip,
                e.remote_addr,
                e.user_agent,
                orjson.dumps(e.details or {}).decode(),
                e.uuid,
            ]


def purge_events(db: Session, runtime: Runtime, admin: AdminIdentity, older_than_days: int) -> int:
    """Delete history older than N days (0: all), then record the purge as a new event."""
    before = purge.cutoff_for(older_than_days, utcnow())
    deleted = purge.delete_events(runtime.session_factory, before)
    purge.record_purge(
        db,
        runtime,
        older_than_days=older_than_days,
        before=before,
        deleted=deleted,
        actor=admin.actor,
        reason="admin",
    )
    return deleted
