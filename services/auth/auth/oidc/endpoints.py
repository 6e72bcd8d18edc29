"""Token revocation (RFC 7009), introspection (RFC 7662) and RP-initiated logout, on
Authlib's endpoints.

A refresh token names its session; an access token names it in `sid`. Both
revoke the whole session: a JWT cannot be revoked alone, and the session is
what `GET /auth/session`, userinfo and introspection check.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oidc.rpinitiated import EndSessionEndpoint
from sqlalchemy import select

from auth.oidc.grants import TOKEN_AUTH_METHODS
from auth.sessions import repository
from auth.sessions.revocation import revoke_sessions
from auth.sessions.tokens import hash_refresh_token
from shared.audit import EventType
from shared.models import AuthSession, SigningKey
from shared.models.base import utcnow
from shared.signing_keys import ALGORITHMS, jwks_document
from shared.tokens import InvalidToken, TokenExpired

ACCESS, REFRESH = "access_token", "refresh_token"


@dataclass(frozen=True)
class PresentedToken:
    kind: str
    session_id: uuid.UUID
    user_id: uuid.UUID
    application_id: uuid.UUID | None
    scope: str | None
    expires_at: float
    issued_at: float | None
    live: bool
    claims: dict[str, Any] = field(default_factory=dict)

    def check_client(self, client: Any) -> bool:
        return self.application_id == client.application_id

    def is_expired(self) -> bool:
        return self.expires_at <= time.time()

    def is_revoked(self) -> bool:
        return not self.live

    def get_scope(self) -> str | None:
        return self.scope


def presented_token(request: Any, token: str, hint: str | None) -> PresentedToken | None:
    """What a token names, whichever kind it is (the hint only decides what is tried first)."""
    kinds = (REFRESH, ACCESS) if hint != ACCESS else (ACCESS, REFRESH)
    for kind in kinds:
        found = _refresh(request, token) if kind == REFRESH else _access(request, token)
        if found is not None:
            return found
    return None


def _refresh(request: Any, token: str) -> PresentedToken | None:
    if not token.startswith("rt_") or len(token) > 64:
        return None
    found = repository.find_refresh(request.db, hash_refresh_token(token))
    if found is None:
        return None
    session, used = found.session, found.token.used_at is not None
    live = session.revoked_at is None and not used
    return PresentedToken(
        kind=REFRESH,
        session_id=session.id,
        user_id=session.user_id,
        application_id=session.application_id,
        scope=session.scope,
        expires_at=min(found.token.expires_at, session.absolute_expires_at).timestamp(),
        issued_at=None,
        live=live,
    )


def _access(request: Any, token: str) -> PresentedToken | None:
    try:
        audience = jwt.decode(token, options={"verify_signature": False}).get("aud")
        verified = request.runtime.tokens.verify(token, audience=str(audience))
        session_id = uuid.UUID(verified.session_id or "")
    except (jwt.PyJWTError, InvalidToken, TokenExpired, ValueError):
        return None
    session = request.db.get(AuthSession, session_id)
    if session is None or str(session.user_id) != verified.subject:
        return None
    live = session.revoked_at is None and session.expires_at > utcnow()
    return PresentedToken(
        kind=ACCESS,
        session_id=session.id,
        user_id=session.user_id,
        application_id=session.application_id,
        scope=verified.claims.get("scope"),
        expires_at=float(verified.expires_at),
        issued_at=float(verified.claims["iat"]),
        live=live,
        claims=verified.claims,
    )


class _PerRequest:
    """Made for one request (Authlib's endpoint objects keep no request of their own)."""

    def __init__(self, server: Any, request: Any) -> None:
        super().__init__(server)  # type: ignore[call-arg]
        self._request = request

    def respond(self) -> Any:
        """Authlib's answer as a response, or its OAuth error as one."""
        try:
            result = self.create_endpoint_response(self._request)  # type: ignore[attr-defined]
        except OAuth2Error as error:
            return self.server.handle_error_response(self._request, error)  # type: ignore[attr-defined]
        return self.server.handle_response(*result)  # type: ignore[attr-defined]


class Revocation(_PerRequest, RevocationEndpoint):
    CLIENT_AUTH_METHODS = TOKEN_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return presented_token(self._request, token_string, token_type_hint)

    def revoke_token(self, token: Any, request: Any) -> None:
        presented: PresentedToken = token
        runtime = request.runtime
        revoke_sessions(
            request.db, runtime, presented.user_id, [presented.session_id], "token_revoked"
        )
        request.audit(
            EventType.OIDC_TOKEN_REVOKED,
            user_id=presented.user_id,
            details={"session_id": str(presented.session_id), "token_type": presented.kind},
        )


class Introspection(_PerRequest, IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return presented_token(self._request, token_string, token_type_hint)

    def check_permission(self, token: Any, client: Any, request: Any) -> bool:
        # A client learns about its own tokens only; any other is "not active".
        return bool(token.check_client(client))

    def introspect_token(self, token: Any) -> dict[str, Any]:
        presented: PresentedToken = token
        body: dict[str, Any] = {
            "active": True,
            "client_id": str(presented.application_id),
            "sub": str(presented.user_id),
            "aud": str(presented.application_id),
            "iss": self._request.runtime.tokens.issuer,
            "exp": int(presented.expires_at),
            "sid": str(presented.session_id),
            "token_type": "Bearer" if presented.kind == ACCESS else REFRESH,
        }
        if presented.scope:
            body["scope"] = presented.scope
        if presented.issued_at is not None:
            body["iat"] = int(presented.issued_at)
        return body


class Logout(_PerRequest, EndSessionEndpoint):
    """RP-initiated logout: the id_token_hint checked against our own published keys."""

    def get_server_jwks(self) -> dict[str, Any]:
        return jwks_document(list(self._request.db.scalars(select(SigningKey))))

    def get_algorithms(self) -> list[str]:
        return list(ALGORITHMS)

    def end_session(self, end_session_request: Any) -> None:
        self._request.end_provider_session(end_session_request)
