"""`GET /auth/session`, the hot path: a JWT check and one Redis round trip, no SQL.

The database is read only when Redis has no entry for the session or the user
(first call after a restart or an eviction), and the entry is then filled.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson
from fastapi.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from auth.accounts import user_payload
from auth.cache import SessionCache
from auth.sessions.tokens import audience_of, session_state
from auth.sessions.verified import VerifiedTokens
from shared.admin_auth import SessionRevoked
from shared.models import AuthSession, UserAccount
from shared.models.base import utcnow
from shared.pipeline import CallerContext
from shared.runtime import Runtime
from shared.tokens import InvalidToken

SESSION_FIELDS = ("session_id", "created_at", "expires_at")


async def session_body(request: Request, caller: CallerContext, bearer: str | None) -> Response:
    """The answer to `GET /auth/session` for a caller the pipeline let through."""
    if bearer is None:
        raise InvalidToken("A bearer access token is required.")
    state = request.app.state
    view = await session_view(state.runtime, state.verified_tokens, str(caller.app.id), bearer)
    caller.subject_user_id = view["user"]["auth_user_id"]
    # Already the response shape: skip re-validating it on the hottest path.
    return Response(orjson.dumps(view), media_type="application/json")


async def session_view(
    runtime: Runtime, verified: VerifiedTokens, audience: str, bearer: str
) -> dict[str, Any]:
    """Runs on the event loop; only the rare paths (a token not seen for a while,
    an entry missing from Redis) go to a worker thread."""
    token = verified.remembered(bearer, audience)
    if token is None:
        token = await run_in_threadpool(verified.verify, bearer, audience)
    if not token.session_id:
        raise InvalidToken()
    cache = SessionCache(runtime)
    cached = await cache.read(token.session_id, token.subject)
    if cached.revoked:
        raise SessionRevoked()
    if cached.session is not None and cached.user is not None:
        state, user = cached.session, cached.user
    else:
        state, user = await run_in_threadpool(
            _load, runtime, cache, token.session_id, token.subject, audience
        )
    if state["user_id"] != token.subject or state["audience"] != audience:
        raise InvalidToken()
    if state["expires_ts"] <= time.time():
        raise SessionRevoked("The session has expired.")
    if user["status"] != "active":
        raise SessionRevoked()
    return {"user": user, "session": {k: state[k] for k in SESSION_FIELDS}}


def _load(
    runtime: Runtime, cache: SessionCache, session_id: str, user_id: str, audience: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        sid, uid = uuid.UUID(session_id), uuid.UUID(user_id)
    except ValueError as exc:
        raise InvalidToken() from exc
    with runtime.session_factory() as session:
        auth_session = session.get(AuthSession, sid)
        user = session.get(UserAccount, uid)
        if auth_session is None or user is None or auth_session.user_id != uid:
            raise SessionRevoked()
        if auth_session.revoked_at is not None:
            raise SessionRevoked()
        if audience_of(auth_session) != audience:
            raise InvalidToken()
        state = session_state(auth_session, audience)
        payload = user_payload(user)
    remaining = int((auth_session.expires_at - utcnow()).total_seconds())
    if remaining > 0:
        cache.store_session(state, remaining, payload)
    else:
        cache.store_user(payload, replace=False)
    return state, payload
