"""`CurrentAdmin`: the bearer-token check in front of every admin API.

Tokens are issued by the auth service with the console audience; this only
verifies them and checks the holder is still an active administrator.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from shared.client_ip import ClientAddress, resolve_client_ip
from shared.db import DbSession
from shared.errors import Forbidden, Unauthorized
from shared.models import AuthSession, UserAccount
from shared.tokens import CONSOLE_AUDIENCE, InvalidToken

bearer = HTTPBearer(auto_error=False, description="An administrator's access token")


class SessionRevoked(Unauthorized):
    code = "session_revoked"
    message = "The session has been revoked."


class NotAdmin(Forbidden):
    code = "not_admin"
    message = "Administrator access only."


@dataclass(frozen=True)
class AdminIdentity:
    id: uuid.UUID
    name: str
    session_id: str | None
    client: ClientAddress
    user_agent: str | None

    @property
    def actor(self) -> dict[str, str | None]:
        """Audit record fields naming this administrator and where they called from."""
        return {
            "actor_type": "admin",
            "actor_id": str(self.id),
            "actor_name": self.name,
            "effective_ip": self.client.effective_ip,
            "forwarded_ip": self.client.forwarded_ip,
            "remote_addr": self.client.remote_addr,
            "user_agent": self.user_agent,
        }


def revoked_session_key(runtime: object, session_id: str) -> str:
    return runtime.keys("session", "revoked", session_id)  # type: ignore[attr-defined]


def _session_ended(db: Session, session_id: str, user_id: uuid.UUID) -> bool:
    try:
        row = db.get(AuthSession, uuid.UUID(session_id))
    except ValueError:
        return True
    return row is None or row.user_id != user_id or row.revoked_at is not None


def current_admin(
    request: Request,
    db: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> AdminIdentity:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("An administrator bearer token is required.")
    runtime = request.app.state.runtime
    token = runtime.tokens.verify(credentials.credentials, audience=CONSOLE_AUDIENCE)
    if token.session_id and runtime.redis.exists(revoked_session_key(runtime, token.session_id)):
        raise SessionRevoked()
    try:
        user_id = uuid.UUID(token.subject)
    except ValueError as exc:
        raise InvalidToken() from exc
    user = db.get(UserAccount, user_id)
    if user is None or user.status != "active":
        raise InvalidToken()
    if not user.is_admin:
        raise NotAdmin()
    if token.session_id and _session_ended(db, token.session_id, user.id):
        # The Redis marker above is the fast path; the row is the truth, should
        # Redis have lost its data. One primary-key read, admin calls only.
        raise SessionRevoked()
    peer = request.client.host if request.client else None
    client = resolve_client_ip(
        peer, request.headers.get("x-forwarded-for"), runtime.settings.trusted_proxy_networks
    )
    return AdminIdentity(
        id=user.id,
        name=user.name,
        session_id=token.session_id,
        client=client,
        user_agent=request.headers.get("user-agent"),
    )


CurrentAdmin = Annotated[AdminIdentity, Depends(current_admin)]
