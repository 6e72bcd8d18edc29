"""Authorization codes: in Redis for 60 s, used once, and a reuse revokes what the code gave.

Only the code's SHA-256 names its entry. Exchanging it takes the entry with
GETDEL, so of two exchanges racing with one code exactly one gets it. The
entry leaves a marker behind for `USED_MARKER_SECONDS`: a later presentation
of the same code finds it and revokes the session the first exchange started
(RFC 6749 4.1.2), even when that exchange is still in flight (it reads the
marker back when it records its session, and revokes its own).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, field

import orjson
from authlib.oidc.core import AuthorizationCodeMixin

from shared.runtime import Runtime

CODE_TTL_SECONDS = 60
USED_MARKER_SECONDS = 600
PENDING, REUSED = "pending", "reused"


@dataclass(frozen=True)
class AuthorizationCode(AuthorizationCodeMixin):
    client_id: str
    redirect_uri: str
    scope: str
    user_id: str
    sso_session_id: str
    auth_time: int
    amr: list[str] = field(default_factory=list)
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    issued_at: float = field(default_factory=time.time)
    code_hash: str = ""

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_amr(self) -> list[str]:
        return list(self.amr)

    def get_acr(self) -> str | None:
        return None

    @property
    def expired(self) -> bool:
        return time.time() - self.issued_at > CODE_TTL_SECONDS


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


class CodeStore:
    def __init__(self, runtime: Runtime) -> None:
        self._redis = runtime.redis
        self._keys = runtime.keys

    def _entry(self, digest: str) -> str:
        return self._keys("auth", "oidc", "code", digest)

    def _marker(self, digest: str) -> str:
        return self._keys("auth", "oidc", "code-used", digest)

    def _nonce(self, client_id: str, nonce: str) -> str:
        return self._keys("auth", "oidc", "nonce", client_id, _digest(nonce))

    def issue(self, code: str, item: AuthorizationCode) -> None:
        body = asdict(item)
        body.pop("code_hash")
        self._redis.set(self._entry(_digest(code)), orjson.dumps(body), ex=CODE_TTL_SECONDS)
        if item.nonce:
            # A nonce names one authentication: the same one again is a replay.
            self._redis.set(self._nonce(item.client_id, item.nonce), 1, ex=USED_MARKER_SECONDS)

    def nonce_seen(self, client_id: str, nonce: str) -> bool:
        return bool(self._redis.exists(self._nonce(client_id, nonce)))

    def take(self, code: str) -> AuthorizationCode | None:
        """The code's entry, removed; None if it never was, expired, or was taken before."""
        digest = _digest(code)
        raw = self._redis.getdel(self._entry(digest))
        if raw is None:
            return None
        self._redis.set(self._marker(digest), PENDING, ex=USED_MARKER_SECONDS)
        return AuthorizationCode(**orjson.loads(raw), code_hash=digest)

    def record_session(self, item: AuthorizationCode, session_id: str) -> bool:
        """Note which session the code started; False if it was presented again meanwhile."""
        previous = self._redis.set(
            self._marker(item.code_hash), session_id, ex=USED_MARKER_SECONDS, get=True
        )
        return previous != REUSED

    def reused(self, code: str) -> str | None:
        """A second presentation: the session the first one started ('' if still unknown),
        or None when this code was never taken (unknown, or expired unused)."""
        digest = _digest(code)
        previous = self._redis.set(
            self._marker(digest), REUSED, ex=USED_MARKER_SECONDS, xx=True, get=True
        )
        if previous is None:
            return None
        return "" if previous in (PENDING, REUSED) else str(previous)
