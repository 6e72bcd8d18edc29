"""SQL for sessions, refresh tokens and devices."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state

from auth.schemas import DeviceIn
from shared.models import Assignment, AuthSession, Device, RefreshToken, UserAccount
from shared.models.base import utcnow


def upsert_device(session: Session, user_id: uuid.UUID, device: DeviceIn, now: datetime) -> Device:
    """The user's device with this client-side id, created on first sight."""
    query = select(Device).where(Device.user_id == user_id, Device.device_key == device.device_id)
    found = session.scalar(query)
    if found is None:
        try:
            with session.begin_nested():
                found = Device(user_id=user_id, device_key=device.device_id, first_seen_at=now)
                session.add(found)
        except IntegrityError:  # the same device signing in twice at once
            found = session.scalars(query).one()
    found.name = device.name or found.name
    found.platform = device.platform or found.platform
    found.last_seen_at = now
    return found


_INSERT_SESSION = insert(AuthSession)
_INSERT_REFRESH = insert(RefreshToken)


def insert_session(session: Session, auth_session: AuthSession, token: RefreshToken) -> None:
    """A new session and its first refresh token, as two plain INSERTs in the transaction.

    Sign-in's hot path: the ORM's unit of work cost more CPU than the statements
    themselves. The objects stay transient (nothing changes them later in the request),
    so every column, the ids included, must be set when they are built.
    """
    connection = session.connection()
    connection.execute(_INSERT_SESSION, [_row(auth_session)])
    connection.execute(_INSERT_REFRESH, [_row(token)])


def _row(entity: AuthSession | RefreshToken) -> dict[str, Any]:
    # A column left unset would be written as NULL: the ORM's defaults don't run here.
    unset = instance_state(entity).unloaded
    if unset:
        raise ValueError(f"{type(entity).__name__} built without {', '.join(sorted(unset))}")
    return {column.key: getattr(entity, column.key) for column in entity.__table__.columns}


@dataclass(frozen=True, slots=True)
class FoundRefresh:
    """A refresh token with its session and the session's user, read in one query.

    The objects are transient (not in the ORM session): changes to them are
    not written; the writes here are explicit statements.
    """

    token: RefreshToken
    session: AuthSession
    user: UserAccount | None
    assigned: bool  # the user is assigned to the session's application


_TOKEN_COLUMNS = (
    RefreshToken.id,
    RefreshToken.expires_at,
    RefreshToken.used_at,
    RefreshToken.replaced_by_id,
)
_SESSION_COLUMNS = (
    AuthSession.id,
    AuthSession.kind,
    AuthSession.user_id,
    AuthSession.application_id,
    AuthSession.scope,
    AuthSession.created_at,
    AuthSession.expires_at,
    AuthSession.absolute_expires_at,
    AuthSession.revoked_at,
)
_USER_COLUMNS = (
    UserAccount.id,
    UserAccount.name,
    UserAccount.email,
    UserAccount.mobile_number,
    UserAccount.emp_id,
    UserAccount.status,
    UserAccount.is_admin,
    UserAccount.updated_at,
    UserAccount.sync_hash,
)


# Built once: building a statement and its cache key costs about as much CPU as
# running it. The hot paths run them on the transaction's connection (Core), past
# the ORM's per-statement work.
_FIND_REFRESH = (
    select(
        *_TOKEN_COLUMNS,
        *_SESSION_COLUMNS,
        *_USER_COLUMNS,
        exists().where(
            Assignment.user_id == AuthSession.user_id,
            Assignment.application_id == AuthSession.application_id,
        ),
    )
    .join(AuthSession, AuthSession.id == RefreshToken.session_id)
    .outerjoin(UserAccount, UserAccount.id == AuthSession.user_id)
    .where(RefreshToken.token_hash == bindparam("token_hash"))
)
_CONSUME_REFRESH = (
    update(RefreshToken)
    .where(RefreshToken.id == bindparam("token_id"), RefreshToken.used_at.is_(None))
    .values(
        used_at=bindparam("used_at_now", type_=RefreshToken.used_at.type),
        replaced_by_id=bindparam("replacement_id", type_=RefreshToken.replaced_by_id.type),
    )
)
_EXTEND_SESSION = (
    update(AuthSession)
    .where(AuthSession.id == bindparam("session_id_now"))
    .values(
        expires_at=bindparam("expires_at_now", type_=AuthSession.expires_at.type),
        last_seen_at=bindparam("last_seen_now", type_=AuthSession.last_seen_at.type),
    )
)


def find_refresh(session: Session, token_hash: str) -> FoundRefresh | None:
    """Refresh's hot path: one query, and only the columns it uses.

    pymysql decodes a descriptor for every column of a result in Python, so
    three ORM loads of whole rows cost more than the round trips themselves.
    """
    row = session.connection().execute(_FIND_REFRESH, {"token_hash": token_hash}).first()
    if row is None:
        return None
    values = iter(row)
    token_values = _taken(_TOKEN_COLUMNS, values)
    auth_session = AuthSession(**_taken(_SESSION_COLUMNS, values))
    token = RefreshToken(**token_values, session_id=auth_session.id, token_hash=token_hash)
    user_values = _taken(_USER_COLUMNS, values)
    user = UserAccount(**user_values) if user_values["id"] is not None else None
    return FoundRefresh(token, auth_session, user, bool(next(values)))


def _taken(columns: tuple[Any, ...], values: Iterator[Any]) -> dict[str, Any]:
    return {column.key: next(values) for column in columns}


def consume_refresh(
    session: Session, token_id: uuid.UUID, now: datetime, replaced_by: uuid.UUID
) -> bool:
    """Mark a refresh token used; True for exactly one of any number of concurrent callers.

    The row lock makes the others wait for the winner's commit; they then see
    `used_at` set and match nothing.
    """
    params = {"token_id": token_id, "used_at_now": now, "replacement_id": replaced_by}
    result = session.connection().execute(_CONSUME_REFRESH, params)
    return bool(result.rowcount)


_SUCCESSOR_USED = select(RefreshToken.used_at.is_not(None)).where(
    RefreshToken.id == bindparam("successor_id")
)


def successor_was_used(session: Session, token: RefreshToken) -> bool:
    """Whether the token that replaced this one has itself been exchanged (replay path only)."""
    if token.replaced_by_id is None:
        return False
    params = {"successor_id": token.replaced_by_id}
    return bool(session.connection().execute(_SUCCESSOR_USED, params).scalar())


def extend_session(
    session: Session,
    session_id: uuid.UUID,
    expires_at: datetime,
    now: datetime,
    token: RefreshToken,
) -> None:
    """A rotation's writes: the session lives on until `expires_at` with its new token."""
    connection = session.connection()
    params = {"session_id_now": session_id, "expires_at_now": expires_at, "last_seen_now": now}
    connection.execute(_EXTEND_SESSION, params)
    connection.execute(_INSERT_REFRESH, [_row(token)])


def live_session(session: Session, session_id: uuid.UUID) -> AuthSession | None:
    """The session, if it has neither ended nor expired."""
    row = session.get(AuthSession, session_id)
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return row


def live_session_ids(
    session: Session, user_id: uuid.UUID, application_ids: Sequence[uuid.UUID] | None = None
) -> list[uuid.UUID]:
    query = select(AuthSession.id).where(
        AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
    )
    if application_ids is not None:
        query = query.where(AuthSession.application_id.in_(application_ids))
    return list(session.scalars(query))


def mark_revoked(
    session: Session, session_ids: Sequence[uuid.UUID], reason: str, now: datetime
) -> int:
    if not session_ids:
        return 0
    result = session.execute(
        update(AuthSession)
        .where(AuthSession.id.in_(session_ids), AuthSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
