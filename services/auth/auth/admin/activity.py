"""A user's sessions and devices as the console shows them, and ending them."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auth.mfa import factors, passkeys, recovery_codes
from auth.mfa.factors import enrolled_methods
from auth.mfa.service import mfa_required_for, reset_factors
from auth.sessions.revocation import revoke_sessions, revoke_user_sessions
from shared.errors import NotFound
from shared.models import Application, AuthSession, Device, UserAccount
from shared.models.base import utcnow


def _live(query: Any) -> Any:
    return query.where(AuthSession.revoked_at.is_(None), AuthSession.expires_at > utcnow())


def require_user(session: Session, user_id: uuid.UUID) -> UserAccount:
    user = session.get(UserAccount, user_id)
    if user is None:
        raise NotFound("User not found.", code="user_not_found")
    return user


def _active_by_device(session: Session, user_id: uuid.UUID) -> Counter[uuid.UUID]:
    rows = session.execute(
        _live(
            select(AuthSession.device_id, func.count())
            .where(AuthSession.user_id == user_id, AuthSession.device_id.is_not(None))
            .group_by(AuthSession.device_id)
        )
    )
    return Counter({device_id: int(count) for device_id, count in rows})


def _device_out(device: Device, active: int) -> dict[str, Any]:
    return {
        "device_id": device.id,
        "device_key": device.device_key,
        "name": device.name,
        "platform": device.platform,
        "first_seen_at": device.first_seen_at,
        "last_seen_at": device.last_seen_at,
        "active_sessions": active,
    }


def list_devices(session: Session, user_id: uuid.UUID) -> list[dict[str, Any]]:
    require_user(session, user_id)
    active = _active_by_device(session, user_id)
    devices = session.scalars(
        select(Device).where(Device.user_id == user_id).order_by(Device.last_seen_at.desc())
    )
    return [_device_out(d, active[d.id]) for d in devices]


def list_sessions(
    session: Session, user_id: uuid.UUID, include_ended: bool, limit: int
) -> list[dict[str, Any]]:
    require_user(session, user_id)
    query = (
        select(AuthSession, Application.name, Device)
        .outerjoin(Application, Application.id == AuthSession.application_id)
        .outerjoin(Device, Device.id == AuthSession.device_id)
        .where(AuthSession.user_id == user_id)
    )
    if not include_ended:
        query = _live(query)
    rows = session.execute(query.order_by(AuthSession.created_at.desc()).limit(limit))
    active = _active_by_device(session, user_id)
    return [
        {
            "session_id": s.id,
            "kind": s.kind,
            "application_id": s.application_id,
            "application_name": app_name,
            "device": _device_out(device, active[device.id]) if device else None,
            "ip": s.ip,
            "user_agent": s.user_agent,
            "created_at": s.created_at,
            "last_seen_at": s.last_seen_at,
            "expires_at": s.expires_at,
            "revoked_at": s.revoked_at,
            "revoked_reason": s.revoked_reason,
        }
        for s, app_name, device in rows
    ]


def activity_counts(session: Session, user_ids: Sequence[uuid.UUID]) -> dict[str, dict[str, Any]]:
    methods = enrolled_methods(session, user_ids)
    counts: dict[str, dict[str, Any]] = {
        str(u): {"devices": 0, "active_sessions": 0, "second_factors": methods[str(u)]}
        for u in user_ids
    }
    devices = session.execute(
        select(Device.user_id, func.count())
        .where(Device.user_id.in_(user_ids))
        .group_by(Device.user_id)
    )
    for user_id, count in devices:
        counts[str(user_id)]["devices"] = count
    sessions = session.execute(
        _live(
            select(AuthSession.user_id, func.count())
            .where(AuthSession.user_id.in_(user_ids))
            .group_by(AuthSession.user_id)
        )
    )
    for user_id, count in sessions:
        counts[str(user_id)]["active_sessions"] = count
    return counts


def end_session(session: Session, runtime: Any, session_id: uuid.UUID) -> AuthSession:
    target = session.get(AuthSession, session_id)
    if target is None:
        raise NotFound("Session not found.", code="session_not_found")
    revoke_sessions(session, runtime, target.user_id, [target.id], "admin")
    return target


def end_user_sessions(session: Session, runtime: Any, user_id: uuid.UUID) -> int:
    require_user(session, user_id)
    return revoke_user_sessions(session, runtime, user_id, "admin")


def forget_device(session: Session, runtime: Any, device_id: uuid.UUID) -> Device:
    """End the device's sessions and remove it; it reappears if the user signs in from it again."""
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound("Device not found.", code="device_not_found")
    ids = list(
        session.scalars(
            select(AuthSession.id).where(
                AuthSession.device_id == device.id, AuthSession.revoked_at.is_(None)
            )
        )
    )
    revoke_sessions(session, runtime, device.user_id, ids, "admin")
    session.delete(device)
    session.flush()
    return device


def second_factors(session: Session, runtime: Any, user_id: uuid.UUID) -> dict[str, Any]:
    user = require_user(session, user_id)
    found = factors.enrolled(session, user_id)
    return {
        "totp": found.totp,
        "passkeys": [
            {
                "passkey_id": p.id,
                "name": p.name,
                "created_at": p.created_at,
                "last_used_at": p.last_used_at,
                "backed_up": p.is_backed_up,
            }
            for p in passkeys.user_passkeys(session, user_id)
        ],
        "recovery_codes_left": recovery_codes.remaining(session, user_id),
        "mfa_required": mfa_required_for(session, runtime, user),
    }


def reset_second_factors(session: Session, runtime: Any, user_id: uuid.UUID) -> dict[str, Any]:
    """Remove all of a user's second factors and end their sessions (a lost phone: they
    enrol again at their next sign-in)."""
    require_user(session, user_id)
    removed = reset_factors(session, user_id)
    revoked = revoke_user_sessions(session, runtime, user_id, "mfa_reset")
    return {"removed": removed, "sessions_revoked": revoked}
