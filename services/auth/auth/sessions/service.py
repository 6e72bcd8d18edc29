"""Starting sessions, rotating refresh tokens (DESIGN.md §6) and logging out."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from typing import Any, NoReturn

import orjson
from sqlalchemy.orm import Session

from auth.accounts import user_payload
from auth.cache import SessionCache
from auth.context import SignInContext
from auth.errors import (
    InvalidRefreshToken,
    RefreshInProgress,
    RefreshTokenExpired,
    RefreshTokenReused,
)
from auth.schemas import DeviceIn
from auth.sessions import repository
from auth.sessions.revocation import revoke_now, revoke_sessions
from auth.sessions.tokens import (
    hash_refresh_token,
    new_refresh_token,
    session_state,
    token_response,
)
from auth.trail import emit_now, emit_on_commit, sign_in_record
from shared.admin_auth import SessionRevoked
from shared.after_commit import defer
from shared.audit import EventType, Outcome
from shared.models import AuthSession, RefreshToken, UserAccount, new_id
from shared.models.base import utcnow
from shared.runtime import Runtime


def _cache_after_commit(
    session: Session, runtime: Runtime, auth_session: AuthSession, audience: str, user: UserAccount
) -> None:
    state = session_state(auth_session, audience)
    ttl = int((auth_session.expires_at - utcnow()).total_seconds())
    payload = user_payload(user)

    def store() -> None:
        SessionCache(runtime).store_session(state, ttl, payload)

    defer(session, store)


def open_session(
    session: Session,
    runtime: Runtime,
    ctx: SignInContext,
    user: UserAccount,
    device: DeviceIn | None,
    *,
    sso_session_id: uuid.UUID | None = None,
    scope: str | None = None,
) -> tuple[AuthSession, str, datetime]:
    """A new session and its first refresh token; (session, the token's plaintext, now)."""
    settings = runtime.settings
    now = utcnow()
    device_row = repository.upsert_device(session, user.id, device, now) if device else None
    absolute = now + timedelta(seconds=settings.session_max_lifetime_seconds)
    auth_session = AuthSession(
        id=new_id(),
        kind="console" if ctx.is_console else "app",
        user_id=user.id,
        application_id=ctx.application_id,
        device_id=device_row.id if device_row else None,
        ip=ctx.client.effective_ip,
        user_agent=(ctx.user_agent or "")[:512] or None,
        created_at=now,
        last_seen_at=now,
        expires_at=min(now + timedelta(seconds=settings.refresh_token_ttl_seconds), absolute),
        absolute_expires_at=absolute,
        revoked_at=None,
        revoked_reason=None,
        sso_session_id=sso_session_id,
        secret_hash=None,
        scope=scope,
        auth_methods=None,
    )
    plaintext, token_hash = new_refresh_token()
    first_token = RefreshToken(
        id=new_id(),
        session_id=auth_session.id,
        token_hash=token_hash,
        created_at=now,
        expires_at=auth_session.expires_at,
        used_at=None,
        replaced_by_id=None,
    )
    repository.insert_session(session, auth_session, first_token)
    _cache_after_commit(session, runtime, auth_session, ctx.audience, user)
    return auth_session, plaintext, now


def issue_token_pair(
    session: Session,
    runtime: Runtime,
    ctx: SignInContext,
    user: UserAccount,
    device: DeviceIn | None,
    method: str,
) -> dict[str, Any]:
    """A new session for a user who just proved who they are, and its first token pair."""
    auth_session, plaintext, now = open_session(session, runtime, ctx, user, device)
    details = {"method": method, "session_id": str(auth_session.id)}
    emit_on_commit(
        session,
        runtime,
        sign_in_record(ctx, EventType.LOGIN_SUCCEEDED, user_id=user.id, details=details),
    )
    return token_response(runtime, auth_session, user, ctx.audience, plaintext, now)


def _still_allowed(found: repository.FoundRefresh) -> bool:
    user = found.user
    if user is None or user.status != "active":
        return False
    if found.session.application_id is None:
        return user.is_admin
    return found.assigned


# How long a concurrent duplicate of a refresh waits for the winner's answer.
DUPLICATE_WAIT_SECONDS = 2.0


def _grace_key(runtime: Runtime, token_hash: str) -> str:
    return runtime.keys("auth", "refresh-grace", token_hash)


def refresh_token_pair(
    session: Session, runtime: Runtime, ctx: SignInContext, plaintext: str
) -> dict[str, Any]:
    found = repository.find_refresh(session, hash_refresh_token(plaintext))
    if found is None or found.session.application_id != ctx.application_id:
        raise InvalidRefreshToken()
    token, auth_session = found.token, found.session
    if auth_session.revoked_at is not None:
        raise SessionRevoked()
    now = utcnow()
    if token.used_at is None:
        if min(token.expires_at, auth_session.absolute_expires_at) <= now:
            raise RefreshTokenExpired()
        replacement_id = new_id()
        if repository.consume_refresh(session, token.id, now, replacement_id):
            return _rotate(session, runtime, ctx, found, replacement_id, now)
        # Lost the race to a duplicate that used it just now: answered as a retry below.
    return _replayed(session, runtime, ctx, auth_session, token, now)


def _rotate(
    session: Session,
    runtime: Runtime,
    ctx: SignInContext,
    found: repository.FoundRefresh,
    replacement_id: uuid.UUID,
    now: datetime,
) -> dict[str, Any]:
    settings = runtime.settings
    auth_session, user = found.session, found.user
    if user is None or not _still_allowed(found):
        session.rollback()
        revoke_now(runtime, auth_session.user_id, [auth_session.id], "user_not_allowed")
        raise SessionRevoked()
    expires_at = min(
        now + timedelta(seconds=settings.refresh_token_ttl_seconds),
        auth_session.absolute_expires_at,
    )
    plaintext, token_hash = new_refresh_token()
    replacement = RefreshToken(
        id=replacement_id,
        session_id=auth_session.id,
        token_hash=token_hash,
        created_at=now,
        expires_at=expires_at,
        used_at=None,
        replaced_by_id=None,
    )
    repository.extend_session(session, auth_session.id, expires_at, now, replacement)
    auth_session.expires_at, auth_session.last_seen_at = expires_at, now  # as now stored
    response = token_response(runtime, auth_session, user, ctx.audience, plaintext, now)
    # Written before commit, whatever the grace setting: a concurrent duplicate waits on
    # our row lock, and must find the answer the moment it gets through. The caller's
    # address goes with it, so only the same client may be answered as a retry.
    answer = {"ip": ctx.client.effective_ip, "response": response}
    runtime.redis.set(
        _grace_key(runtime, found.token.token_hash),
        runtime.box.encrypt(orjson.dumps(answer).decode()),
        ex=max(settings.refresh_reuse_grace_seconds, int(DUPLICATE_WAIT_SECONDS) + 1),
    )
    _cache_after_commit(session, runtime, auth_session, ctx.audience, user)
    record = sign_in_record(
        ctx,
        EventType.TOKEN_REFRESHED,
        user_id=user.id,
        details={"session_id": str(auth_session.id)},
    )
    emit_on_commit(session, runtime, record)
    return response


def _replayed(
    session: Session,
    runtime: Runtime,
    ctx: SignInContext,
    auth_session: AuthSession,
    token: RefreshToken,
    now: datetime,
) -> dict[str, Any]:
    """A used token presented again: the same answer for a retry, revocation for anything else.

    A retry is the same application (checked by the caller) from the same client
    address, inside the grace window, before the new token itself was used: once
    it has been, no honest client can still be retrying this one (RFC 9700 4.14.2).
    A concurrent duplicate (it read the token before the winner committed) is a retry.
    """
    if token.used_at is not None:
        if (now - token.used_at).total_seconds() > runtime.settings.refresh_reuse_grace_seconds:
            _reuse_detected(session, runtime, ctx, auth_session, "grace_over")
        if repository.successor_was_used(session, token):
            _reuse_detected(session, runtime, ctx, auth_session, "successor_used")
    answer = _winners_answer(runtime, token)
    if answer["ip"] != ctx.client.effective_ip:
        _reuse_detected(session, runtime, ctx, auth_session, "another_client")
    return dict(answer["response"])


def _winners_answer(runtime: Runtime, token: RefreshToken) -> dict[str, Any]:
    deadline = time.monotonic() + DUPLICATE_WAIT_SECONDS
    while time.monotonic() < deadline:
        cached = runtime.redis.get(_grace_key(runtime, token.token_hash))
        if cached:
            return dict(orjson.loads(runtime.box.decrypt(str(cached))))
        time.sleep(0.05)
    raise RefreshInProgress(headers={"Retry-After": "1"})


def _reuse_detected(
    session: Session,
    runtime: Runtime,
    ctx: SignInContext,
    auth_session: AuthSession,
    reason: str,
) -> NoReturn:
    session.rollback()
    revoke_now(runtime, auth_session.user_id, [auth_session.id], "refresh_token_reused")
    details = {"session_id": str(auth_session.id), "reason": reason}
    emit_now(
        runtime,
        sign_in_record(
            ctx,
            EventType.REFRESH_REUSE_DETECTED,
            user_id=auth_session.user_id,
            outcome=Outcome.DENIED,
            details=details,
        ),
    )
    raise RefreshTokenReused()


def logout(
    session: Session,
    runtime: Runtime,
    ctx: SignInContext,
    refresh_token: str | None,
    bearer: str | None,
) -> None:
    """End the session named by a refresh token or an access token; a second call is a no-op."""
    target: AuthSession | None = None
    if refresh_token:
        found = repository.find_refresh(session, hash_refresh_token(refresh_token))
        # Another application's token is not this caller's to end: treat it as unknown.
        if found is not None and found.session.application_id == ctx.application_id:
            target = found.session
    elif bearer:
        verified = runtime.tokens.verify(bearer, audience=ctx.audience)
        try:
            target = session.get(AuthSession, uuid.UUID(verified.session_id or ""))
        except ValueError:
            target = None
        if target is not None and str(target.user_id) != verified.subject:
            target = None
    if target is None or target.revoked_at is not None:
        return
    revoke_sessions(session, runtime, target.user_id, [target.id], "logout")
    record = sign_in_record(
        ctx, EventType.SESSION_REVOKED, user_id=target.user_id, details={"reason": "logout"}
    )
    emit_on_commit(session, runtime, record)
