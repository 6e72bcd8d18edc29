"""What `GET /auth/session` reads instead of MySQL: session state, revocations, user profiles.

All in Redis, shared by every replica. The database stays the source of truth:
a missing entry is loaded from it; revocation writes the database first and
then marks the session here (`revoked_session_key`, which the admin API also
checks). A marker outlives every access token of its session: none is minted
after the revocation, and none minted before it lives longer than the most the
lifetime setting allows (it may have been longer when they were minted).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from shared.admin_auth import revoked_session_key
from shared.runtime import Runtime
from shared.settings import ACCESS_TOKEN_TTL_MAX_SECONDS


@dataclass(frozen=True)
class CachedState:
    revoked: bool
    session: dict[str, Any] | None
    user: dict[str, Any] | None


class SessionCache:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._redis = runtime.redis
        self._keys = runtime.keys

    def _session_key(self, session_id: str) -> str:
        return self._keys("auth", "session", session_id)

    def _user_key(self, user_id: str) -> str:
        return self._keys("auth", "user", user_id)

    def _user_sessions_key(self, user_id: str) -> str:
        return self._keys("auth", "user-sessions", user_id)

    async def read(self, session_id: str, user_id: str) -> CachedState:
        """One round trip: the revocation marker, the session and the user profile."""
        revoked, session, user = await self._runtime.batched_redis().mget(
            [
                revoked_session_key(self._runtime, session_id),
                self._session_key(session_id),
                self._user_key(user_id),
            ]
        )
        return CachedState(
            revoked=revoked is not None,
            session=orjson.loads(session) if session else None,
            user=orjson.loads(user) if user else None,
        )

    def store_session(
        self, state: dict[str, Any], ttl_seconds: int, user: dict[str, Any] | None = None
    ) -> None:
        """The session's state, and with `user` its user's payload as `store_user` would
        (filling a gap only), in one round trip."""
        user_id, session_id = state["user_id"], state["session_id"]
        members = self._user_sessions_key(user_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(self._session_key(session_id), orjson.dumps(state), ex=max(ttl_seconds, 1))
        pipe.sadd(members, session_id)
        pipe.expire(members, self._runtime.settings.session_max_lifetime_seconds)
        if user is not None:
            self._set_user(pipe, user, replace=False)
        pipe.execute()

    def store_user(self, payload: dict[str, Any], *, replace: bool) -> None:
        """`replace` for the directory-event consumer; request paths only fill a gap,
        so a request holding an older read never overwrites the consumer's newer one."""
        self._set_user(self._redis, payload, replace=replace)

    def _set_user(self, client: Any, payload: dict[str, Any], *, replace: bool) -> None:
        client.set(
            self._user_key(payload["auth_user_id"]),
            orjson.dumps(payload),
            ex=self._runtime.settings.session_cache_seconds,
            nx=not replace,
        )

    def drop_user(self, user_id: str) -> None:
        self._redis.delete(self._user_key(user_id))

    def sessions_of(self, user_id: str) -> set[str]:
        return {str(s) for s in self._redis.smembers(self._user_sessions_key(user_id))}

    def mark_revoked(self, user_id: str, session_ids: Iterable[str]) -> None:
        ids = list(session_ids)
        if not ids:
            return
        ttl = ACCESS_TOKEN_TTL_MAX_SECONDS + 60
        pipe = self._redis.pipeline(transaction=False)
        for session_id in ids:
            pipe.set(revoked_session_key(self._runtime, session_id), "1", ex=ttl)
            pipe.delete(self._session_key(session_id))
        pipe.srem(self._user_sessions_key(user_id), *ids)
        pipe.execute()
