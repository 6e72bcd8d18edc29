"""SQL for the CSV import: batched look-ups of existing users, bulk inserts and updates."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import bindparam, delete, select, union, update
from sqlalchemy.orm import Session

from shared.models import Application, Assignment, Base, SyncEntry, UserAccount

# Core tables: bulk writes skip the ORM's per-object bookkeeping.
USER_TABLE = Base.metadata.tables["user_account"]
ASSIGNMENT_TABLE = Base.metadata.tables["assignment"]
ENTRY_TABLE = Base.metadata.tables["sync_entry"]


class ExistingUser(NamedTuple):
    id: uuid.UUID
    name: str
    email: str | None
    mobile_number: str | None
    emp_id: str | None
    status: str
    is_admin: bool

    @property
    def label(self) -> str:
        return self.email or self.mobile_number or str(self.id)


_EXISTING_COLUMNS = (
    UserAccount.id,
    UserAccount.name,
    UserAccount.email,
    UserAccount.mobile_number,
    UserAccount.emp_id,
    UserAccount.status,
    UserAccount.is_admin,
)


def application_ids_by_name(session: Session) -> dict[str, uuid.UUID]:
    """Every application, keyed by case-folded name (names are unique case-insensitively)."""
    return {
        name.casefold(): app_id
        for app_id, name in session.execute(select(Application.id, Application.name))
    }


def application_names(session: Session) -> dict[uuid.UUID, str]:
    """Every application's name as it is spelled, for the dry run's row outcomes."""
    rows = session.execute(select(Application.id, Application.name))
    return {row.id: row.name for row in rows}


def users_holding(session: Session, values: Mapping[str, Sequence[str]]) -> list[ExistingUser]:
    """Users whose email, mobile number or employee ID is among `values[column]`.

    A UNION of one look-up per unique index: each part uses its index, and a
    user matching on several columns comes back once.
    """
    parts = [
        select(*_EXISTING_COLUMNS).where(getattr(UserAccount, column).in_(wanted))
        for column, wanted in values.items()
        if wanted
    ]
    if not parts:
        return []
    return [ExistingUser(*row) for row in session.execute(union(*parts))]


def assignments_of(
    session: Session, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, set[uuid.UUID]]:
    result: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    if user_ids:
        rows = session.execute(
            select(Assignment.user_id, Assignment.application_id).where(
                Assignment.user_id.in_(user_ids)
            )
        )
        for user_id, app_id in rows:
            result[user_id].add(app_id)
    return result


def insert_users(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(USER_TABLE.insert(), rows)


def insert_assignments(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(ASSIGNMENT_TABLE.insert(), rows)


# The SET clause comes from the keys of the parameter rows (executemany).
_UPDATE_USER = update(USER_TABLE).where(USER_TABLE.c.id == bindparam("user_id"))


def update_users(session: Session, rows: list[dict[str, Any]]) -> None:
    """`rows` carry `user_id` and the new mapped fields, `sync_hash` and `updated_at`."""
    if rows:
        session.execute(_UPDATE_USER, rows)


def feed_entries(
    session: Session, app_ids: Sequence[uuid.UUID], user_ids: Sequence[uuid.UUID]
) -> dict[tuple[uuid.UUID, uuid.UUID], bool]:
    """`(application_id, user_id) -> is_removed`, found through the primary key."""
    if not app_ids or not user_ids:
        return {}
    rows = session.execute(
        select(SyncEntry.application_id, SyncEntry.user_id, SyncEntry.is_removed).where(
            SyncEntry.application_id.in_(app_ids), SyncEntry.user_id.in_(user_ids)
        )
    )
    return {(app_id, user_id): is_removed for app_id, user_id, is_removed in rows}


def rewrite_feed_entries(
    session: Session,
    stale: Mapping[uuid.UUID, Sequence[uuid.UUID]],
    rows: list[dict[str, Any]],
) -> None:
    """Replace entries with new `seq`/`is_removed`: `stale` is app id -> user ids to drop.

    A delete per application and one batched insert cost a few round trips
    per batch, where an UPDATE per entry would cost one per user.
    """
    for app_id, user_ids in stale.items():
        session.execute(
            delete(SyncEntry).where(
                SyncEntry.application_id == app_id, SyncEntry.user_id.in_(user_ids)
            )
        )
    if rows:
        session.execute(ENTRY_TABLE.insert(), rows)
