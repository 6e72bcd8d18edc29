"""One-time codes in Redis (DESIGN.md §7): keyed hash only, TTL, single use, bounded tries.

Per (audience, user) there is one live code, named by its `otp_request_id`; a
resend replaces the code but keeps the attempt counter, which lives at least
as long as the newest code. Every verification is counted before the code is
compared, so of any number of concurrent guesses at most
`otp_verify_max_attempts` are ever evaluated.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass

from auth.errors import InvalidOtp, OtpAttemptsExceeded, OtpExpired
from auth.throttle import count_in_window, seconds_left
from shared.runtime import Runtime


@dataclass(frozen=True)
class IssuedCode:
    request_id: str
    code: str
    expires_at: float


@dataclass(frozen=True)
class PendingCode:
    request_id: str
    audience: str
    user_id: str
    purpose: str
    digest: str


class OtpStore:
    def __init__(self, runtime: Runtime) -> None:
        self._redis = runtime.redis
        self._keys = runtime.keys
        self._box = runtime.box
        self._settings = runtime.settings

    def _code_key(self, request_id: str) -> str:
        return self._keys("auth", "otp", "code", request_id)

    def _active_key(self, audience: str, user_id: str) -> str:
        return self._keys("auth", "otp", "active", audience, user_id)

    def _attempts_key(self, audience: str, user_id: str) -> str:
        return self._keys("auth", "otp", "attempts", audience, user_id)

    def _digest(self, request_id: str, code: str) -> str:
        # The request id is part of the hash: a code is good only for its own request.
        return self._box.keyed_hash(f"{request_id}:{code}")

    def attempts_spent_for(self, audience: str, user_id: str) -> int:
        """Seconds until tries are allowed again once they are spent; 0 otherwise."""
        key = self._attempts_key(audience, user_id)
        used = self._redis.get(key)
        if used is not None and int(used) >= self._settings.otp_verify_max_attempts:
            return max(seconds_left(self._redis, key), 1)
        return 0

    def issue(self, audience: str, user_id: str, purpose: str) -> IssuedCode:
        settings = self._settings
        ttl = settings.otp_ttl_seconds
        code = f"{secrets.randbelow(10**settings.otp_length):0{settings.otp_length}d}"
        request_id = secrets.token_urlsafe(18)
        active, attempts = (
            self._active_key(audience, user_id),
            self._attempts_key(audience, user_id),
        )
        previous = self._redis.get(active)
        pipe = self._redis.pipeline(transaction=True)
        if previous:
            pipe.delete(self._code_key(str(previous)))
        pipe.hset(
            self._code_key(request_id),
            mapping={
                "user_id": user_id,
                "audience": audience,
                "purpose": purpose,
                "digest": self._digest(request_id, code),
            },
        )
        pipe.expire(self._code_key(request_id), ttl)
        pipe.set(active, request_id, ex=ttl)
        # A resend keeps the count of wrong tries, and it must outlive the new code.
        pipe.set(attempts, 0, ex=ttl, nx=True)
        pipe.expire(attempts, ttl, gt=True)
        pipe.execute()
        return IssuedCode(request_id, code, time.time() + ttl)

    def active_request(self, audience: str, user_id: str) -> str | None:
        value = self._redis.get(self._active_key(audience, user_id))
        return str(value) if value else None

    def pending(self, request_id: str, audience: str) -> PendingCode:
        """The live code behind a request id, for this audience only."""
        stored = self._redis.hgetall(self._code_key(request_id))
        if not stored or stored.get("audience") != audience:
            raise OtpExpired()
        return PendingCode(
            request_id=request_id,
            audience=audience,
            user_id=str(stored["user_id"]),
            purpose=str(stored["purpose"]),
            digest=str(stored["digest"]),
        )

    def verify(self, pending: PendingCode, code: str) -> None:
        limit = self._settings.otp_verify_max_attempts
        attempts_key = self._attempts_key(pending.audience, pending.user_id)
        used, window = count_in_window(self._redis, attempts_key, self._settings.otp_ttl_seconds)
        if used > limit:
            raise OtpAttemptsExceeded(window)
        if not hmac.compare_digest(pending.digest, self._digest(pending.request_id, code)):
            raise InvalidOtp(attempts_left=limit - used)
        # DEL answers 1 to exactly one caller: the code is used once, even by a race.
        if not self._redis.delete(self._code_key(pending.request_id)):
            raise OtpExpired()
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(attempts_key)
        pipe.delete(self._active_key(pending.audience, pending.user_id))
        pipe.execute()
