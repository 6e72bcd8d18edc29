"""Minting the pieces of a token response: access JWT, opaque refresh token, the body."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from auth.accounts import iso, user_payload
from auth.oidc.clients import client_registry
from shared.models import AuthSession, UserAccount
from shared.runtime import Runtime
from shared.signing_keys import DEFAULT_ALGORITHM, ensure_signing_keys
from shared.tokens import CONSOLE_AUDIENCE

REFRESH_PREFIX = "rt_"


def new_refresh_token() -> tuple[str, str]:
    """(plaintext, hash). 256 random bits: a plain SHA-256 at rest is enough."""
    plaintext = REFRESH_PREFIX + secrets.token_urlsafe(32)
    return plaintext, hash_refresh_token(plaintext)


def hash_refresh_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def mint_access_token(
    runtime: Runtime,
    user_id: str,
    audience: str,
    session_id: str,
    alg: str = DEFAULT_ALGORITHM,
    extra: dict[str, Any] | None = None,
) -> str:
    args: dict[str, Any] = {
        "subject": user_id,
        "audience": audience,
        "ttl_seconds": runtime.settings.access_token_ttl_seconds,
        "session_id": session_id,
        "alg": alg,
        "extra": extra,
    }
    try:
        token, _ = runtime.tokens.mint(**args)
    except RuntimeError:  # no signing key yet (start-up could not reach the DB)
        with runtime.session_factory() as session:
            ensure_signing_keys(session, runtime.box)
        runtime.tokens.reset()
        token, _ = runtime.tokens.mint(**args)
    return token


def audience_of(auth_session: AuthSession) -> str:
    """Tokens of a session are for its application, or for the console when it has none."""
    app = auth_session.application_id
    return str(app) if app is not None else CONSOLE_AUDIENCE


def session_state(auth_session: AuthSession, audience: str) -> dict[str, Any]:
    """What the session cache holds (and `GET /auth/session` answers from)."""
    return {
        "session_id": str(auth_session.id),
        "user_id": str(auth_session.user_id),
        "audience": audience,
        "created_at": iso(auth_session.created_at),
        "expires_at": iso(auth_session.expires_at),
        "expires_ts": auth_session.expires_at.timestamp(),
    }


def token_response(
    runtime: Runtime,
    auth_session: AuthSession,
    user: UserAccount,
    audience: str,
    refresh_token: str,
    now: datetime,
) -> dict[str, Any]:
    # An OIDC client's tokens say what was granted to whom (RFC 9068's claims).
    extra = {"scope": auth_session.scope, "client_id": audience} if auth_session.scope else None
    alg = client_registry(runtime).signing_alg(audience)
    access = mint_access_token(runtime, str(user.id), audience, str(auth_session.id), alg, extra)
    return {
        "token_type": "Bearer",
        "access_token": access,
        "expires_in": runtime.settings.access_token_ttl_seconds,
        "refresh_token": refresh_token,
        "refresh_expires_in": int((auth_session.expires_at - now).total_seconds()),
        "session": {
            "session_id": str(auth_session.id),
            "created_at": iso(auth_session.created_at),
            "expires_at": iso(auth_session.expires_at),
        },
        "user": user_payload(user),
    }
