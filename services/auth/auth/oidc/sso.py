"""The provider's sign-in session (single sign-on): one sign-in, every assigned application.

It is an `auth_session` row of kind `sso` (no application, no refresh
token), so it shows in the console with the user's other sessions, can be
ended there, and ends like them on disable and password reset. The browser
holds `<session id>.<secret>` in an HttpOnly, SameSite=Lax cookie (Secure and
`__Host-` behind HTTPS); the row holds only the secret's hash. Sessions an
application gets through it name it (`sso_session_id`): signing out at the
provider ends them too.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from auth.context import SignInContext
from auth.sessions.revocation import revoke_sessions
from shared.models import AuthSession, UserAccount
from shared.models.base import new_id, utcnow
from shared.runtime import Runtime

COOKIE = "idp_session"
SECURE_COOKIE = "__Host-idp_session"
SSO = "sso"


def cookie_name(secure: bool) -> str:
    return SECURE_COOKIE if secure else COOKIE


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def open_sso_session(
    db: Session, runtime: Runtime, ctx: SignInContext, user: UserAccount, methods: list[str]
) -> tuple[AuthSession, str]:
    """A new provider session for a user who just signed in; (row, cookie value)."""
    now = utcnow()
    secret = secrets.token_urlsafe(32)
    expires = now + timedelta(seconds=runtime.settings.sso_session_seconds)
    row = AuthSession(
        id=new_id(),
        kind=SSO,
        user_id=user.id,
        application_id=None,
        device_id=None,
        ip=ctx.client.effective_ip,
        user_agent=(ctx.user_agent or "")[:512] or None,
        created_at=now,
        last_seen_at=now,
        expires_at=expires,
        absolute_expires_at=expires,
        revoked_at=None,
        revoked_reason=None,
        sso_session_id=None,
        secret_hash=_digest(secret),
        scope=None,
        auth_methods=" ".join(methods),
    )
    db.add(row)
    db.flush()
    return row, f"{row.id}.{secret}"


def renew_sso_session(runtime: Runtime, row: AuthSession, methods: list[str]) -> str:
    """The same user signed in again (the account page asks, to change factors): the session
    keeps its id, so the applications' sessions it gave stay tied to it, with a new secret,
    a new sign-in time and lifetime. Returns the new cookie value."""
    now = utcnow()
    secret = secrets.token_urlsafe(32)
    row.secret_hash = _digest(secret)
    row.created_at = row.last_seen_at = now
    row.expires_at = row.absolute_expires_at = now + timedelta(
        seconds=runtime.settings.sso_session_seconds
    )
    row.auth_methods = " ".join(methods)
    return f"{row.id}.{secret}"


def current_sso_session(db: Session, cookie: str | None) -> AuthSession | None:
    """The live provider session this cookie names, or None (absent, forged, ended)."""
    if not cookie or "." not in cookie or len(cookie) > 128:
        return None
    session_id, secret = cookie.split(".", 1)
    try:
        row = db.get(AuthSession, uuid.UUID(session_id))
    except ValueError:
        return None
    if row is None or row.kind != SSO or row.secret_hash is None:
        return None
    if not hmac.compare_digest(row.secret_hash, _digest(secret)):
        return None
    if row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return row


def end_sso_session(db: Session, runtime: Runtime, sso: AuthSession, reason: str) -> int:
    """End the provider session and every application session it gave; how many were live."""
    ids = [sso.id]
    ids += list(
        db.scalars(
            select(AuthSession.id).where(
                AuthSession.sso_session_id == sso.id, AuthSession.revoked_at.is_(None)
            )
        )
    )
    return revoke_sessions(db, runtime, sso.user_id, ids, reason)
