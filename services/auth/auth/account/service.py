"""What a user may change on their account page; each change audited for the user.

Removing a second factor goes through `mfa.check_removal` (never the last one a
required second step can use); a new password must pass the policy and the
current one, whose wrong guesses count towards the account's lockout.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from auth.context import SignInContext
from auth.errors import InvalidCredentials
from auth.login.lockout import Lockout, record_lockouts
from auth.mfa import passkeys, recovery_codes, totp
from auth.mfa import service as mfa
from auth.mfa.factors import PASSKEY, RECOVERY_CODE, TOTP
from auth.sessions.revocation import revoke_sessions
from auth.trail import emit_now, emit_on_commit, sign_in_record
from shared.audit import EventType, Outcome
from shared.errors import NotFound, Unprocessable
from shared.models import AuthSession, Device, UserAccount
from shared.models.base import utcnow
from shared.runtime import Runtime
from shared.security.password_policy import check_password

USER_ENDED = "user"  # revoked_reason of a session the user ended here


class PasswordsDiffer(Unprocessable):
    code = "validation_error"
    message = "The new password and its confirmation differ."


class WrongCurrentPassword(InvalidCredentials):
    message = "The current password is incorrect."


def change_password(
    session: Session,
    runtime: Runtime,
    ctx: SignInContext,
    user: UserAccount,
    keep: uuid.UUID,
    current: str,
    new: str,
    confirm: str,
) -> int:
    """Set a new password; every other session of the user ends. How many ended."""
    lockout = Lockout(runtime)
    attempt = lockout.begin(str(user.id), ctx.client.effective_ip)
    if not runtime.passwords.verify(user.password_hash, current).ok:
        failure = lockout.failed(attempt)
        record = sign_in_record(
            ctx,
            EventType.LOGIN_FAILED,
            user_id=user.id,
            outcome=Outcome.FAILURE,
            details={"method": "password", "reason": "wrong_current_password"},
        )
        emit_now(runtime, record)
        record_lockouts(runtime, ctx, failure, user.id, {"login_kind": "account"})
        raise WrongCurrentPassword()
    lockout.succeeded(attempt)
    if new != confirm:
        raise PasswordsDiffer()
    check_password(
        new,
        min_length=runtime.settings.password_min_length,
        personal=[user.name, user.email, user.mobile_number],
    )
    # The one column of user_account the auth service writes (see accounts.py).
    user.password_hash = runtime.passwords.hash(new)
    ended = end_other_sessions(session, runtime, user, keep, "password_changed")
    emit_on_commit(
        session,
        runtime,
        sign_in_record(
            ctx, EventType.PASSWORD_CHANGED, user_id=user.id, details={"sessions_revoked": ended}
        ),
    )
    return ended


def _live_ids(session: Session, user_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        session.scalars(
            select(AuthSession.id).where(
                AuthSession.user_id == user_id,
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > utcnow(),
            )
        )
    )


def end_other_sessions(
    session: Session, runtime: Runtime, user: UserAccount, keep: uuid.UUID, reason: str = USER_ENDED
) -> int:
    """Every live session of the user but this page's own (and the sessions it gave)."""
    kept = {keep} | set(
        session.scalars(select(AuthSession.id).where(AuthSession.sso_session_id == keep))
    )
    ids = [i for i in _live_ids(session, user.id) if i not in kept]
    return revoke_sessions(session, runtime, user.id, ids, reason) if ids else 0


def end_session(
    session: Session, runtime: Runtime, user: UserAccount, session_id: uuid.UUID
) -> None:
    target = session.get(AuthSession, session_id)
    if target is None or target.user_id != user.id:
        raise NotFound("Session not found.", code="session_not_found")
    revoke_sessions(session, runtime, user.id, [target.id], USER_ENDED)


def forget_device(
    session: Session, runtime: Runtime, user: UserAccount, device_id: uuid.UUID
) -> Device:
    device = session.get(Device, device_id)
    if device is None or device.user_id != user.id:
        raise NotFound("Device not found.", code="device_not_found")
    ids = list(
        session.scalars(
            select(AuthSession.id).where(
                AuthSession.device_id == device.id, AuthSession.revoked_at.is_(None)
            )
        )
    )
    if ids:
        revoke_sessions(session, runtime, user.id, ids, USER_ENDED)
    session.delete(device)
    session.flush()
    return device


def remove_totp(session: Session, runtime: Runtime, ctx: SignInContext, user: UserAccount) -> None:
    mfa.check_removal(session, runtime, user, TOTP)
    if totp.remove(session, user.id):
        mfa.record_change(session, runtime, ctx, user.id, EventType.MFA_REMOVED, TOTP)


def remove_passkey(
    session: Session,
    runtime: Runtime,
    ctx: SignInContext,
    user: UserAccount,
    passkey_id: uuid.UUID,
) -> None:
    mfa.check_removal(session, runtime, user, PASSKEY)
    row = passkeys.remove(session, user.id, passkey_id)
    if row is None:
        raise NotFound("Passkey not found.", code="passkey_not_found")
    mfa.record_change(
        session,
        runtime,
        ctx,
        user.id,
        EventType.MFA_REMOVED,
        PASSKEY,
        passkey_id=str(row.id),
        name=row.name,
    )


def new_recovery_codes(
    session: Session, runtime: Runtime, ctx: SignInContext, user: UserAccount
) -> list[str]:
    codes = recovery_codes.generate(session, runtime, user.id)
    mfa.record_change(
        session, runtime, ctx, user.id, EventType.MFA_RECOVERY_CODES_GENERATED, RECOVERY_CODE
    )
    return codes
