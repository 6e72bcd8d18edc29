"""SQL for sessions, refresh tokens and devices."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state

from auth.schemas import DeviceIn
from shared.models import AuthSession, Device, RefreshToken


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


def insert_session(session: Session, auth_session: AuthSession, token: RefreshToken) -> None:
    """A new session and its first refresh token, as two plain INSERTs in the transaction.

    Sign-in's hot path: the ORM's unit of work cost more CPU than the statements
    themselves. The objects stay transient (nothing changes them later in the request),
    so every column, the ids included, must be set when they are built.
    """
    connection = session.connection()
    connection.execute(insert(AuthSession), [_row(auth_session)])
    connection.execute(insert(RefreshToken), [_row(token)])


def _row(entity: AuthSession | RefreshToken) -> dict[str, Any]:
    # A column left unset would be written as NULL: the ORM's defaults don't run here.
    unset = instance_state(entity).unloaded
    if unset:
        raise ValueError(f"{type(entity).__name__} built without {', '.join(sorted(unset))}")
    return {column.key: getattr(entity, column.key) for column in entity.__table__.columns}


def find_refresh(session: Session, token_hash: str) -> tuple[RefreshToken, AuthSession] | None:
    row = session.execute(
        select(RefreshToken, AuthSession)
        .join(AuthSession, AuthSession.id == RefreshToken.session_id)
        .where(RefreshToken.token_hash == token_hash)
    ).first()
    return (row[0], row[1]) if row else None


def consume_refresh(
    session: Session, token_id: uuid.UUID, now: datetime, replaced_by: uuid.UUID
) -> bool:
    """Mark a refresh token used; True for exactly one of any number of concurrent callers.

    The row lock makes the others wait for the winner's commit; they then see
    `used_at` set and match nothing.
    """
    result = session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None))
        .values(used_at=now, replaced_by_id=replaced_by)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


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
