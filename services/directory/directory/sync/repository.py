"""SQL over one application's sync feed (`sync_entry`) joined to the users it names."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import DateTime, Select, String, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from shared.models import SyncEntry, UserAccount

# What the sync `user` object is made of, in output order. The id and the
# timestamp skip their ORM types (uuid.UUID, aware datetime): a sync page
# turns them straight back into text, and building a UUID object per row was
# a measurable share of a 100k-user sync (bench/bench_sync.py). `stream.py`
# renders the raw id and the naive UTC timestamp itself.
USER_COLUMNS = (
    type_coerce(UserAccount.id, String),
    UserAccount.name,
    UserAccount.mobile_number,
    UserAccount.email,
    UserAccount.emp_id,
    UserAccount.status,
    type_coerce(UserAccount.updated_at, DateTime),
    UserAccount.sync_hash,
)


def max_seq(session: Session, app_id: uuid.UUID) -> int:
    """The highest seq in the app's feed; 0 for an empty feed."""
    value = session.scalar(
        select(func.max(SyncEntry.seq)).where(SyncEntry.application_id == app_id)
    )
    return int(value or 0)


def page_end(
    session: Session, app_id: uuid.UUID, after: int, upto: int, limit: int, *, live_only: bool
) -> int | None:
    """The seq of the entry just past a page of `limit` entries in (after, upto], if any.

    Walks the (application_id, seq) index. Knowing where the page ends up
    front (rather than reading limit+1 rows) lets the body be streamed in two
    passes between fixed seq bounds, users then removed ids, holding neither.
    """
    query = (
        select(SyncEntry.seq)
        .where(SyncEntry.application_id == app_id, SyncEntry.seq > after, SyncEntry.seq <= upto)
        .order_by(SyncEntry.seq)
        .offset(limit)
        .limit(1)
    )
    if live_only:
        query = query.where(SyncEntry.is_removed.is_(False))
    value = session.scalar(query)
    return int(value) if value is not None else None


def live_users(app_id: uuid.UUID, after: int, upto: int) -> Select[*tuple[Any, ...]]:
    """Users the app may see whose entries fall in (after, upto], in seq order.

    Administrators are excluded here as well as by the feed, so a stray live
    entry can never leak an admin account.
    """
    return (
        select(*USER_COLUMNS)
        .join_from(SyncEntry, UserAccount, UserAccount.id == SyncEntry.user_id)
        .where(
            SyncEntry.application_id == app_id,
            SyncEntry.seq > after,
            SyncEntry.seq <= upto,
            SyncEntry.is_removed.is_(False),
            UserAccount.is_admin.is_(False),
        )
        .order_by(SyncEntry.seq)
    )


def removed_users(app_id: uuid.UUID, after: int, upto: int) -> Select[str]:
    """Ids the app must drop: unassigned, made admin, or no longer in the directory."""
    return (
        select(type_coerce(SyncEntry.user_id, String))
        .outerjoin_from(SyncEntry, UserAccount, UserAccount.id == SyncEntry.user_id)
        .where(
            SyncEntry.application_id == app_id,
            SyncEntry.seq > after,
            SyncEntry.seq <= upto,
            or_(
                SyncEntry.is_removed.is_(True),
                UserAccount.id.is_(None),
                UserAccount.is_admin.is_(True),
            ),
        )
        .order_by(SyncEntry.seq)
    )
