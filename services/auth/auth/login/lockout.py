"""Brute-force protection for password sign-in: per-account and per-IP failure counters.

An attempt is counted *before* the password is checked, so however many arrive
at once, no more than `lockout_threshold` are ever evaluated. The attempt that
reaches the threshold and fails locks the account for a delay that doubles with
each lockout (up to `lockout_max_seconds`); a success clears the counters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auth.context import SignInContext
from auth.errors import AccountLocked
from auth.throttle import count_in_window, seconds_left
from auth.trail import emit_now, sign_in_record
from shared.audit import EventType, Outcome
from shared.runtime import Runtime

LOCKOUT_MEMORY_SECONDS = 86400  # how long earlier lockouts keep making the next one longer


@dataclass(frozen=True)
class Attempt:
    account: str
    ip: str | None
    number: int


@dataclass(frozen=True)
class Failure:
    account_locked_for: int | None = None
    ip_locked_for: int | None = None


class Lockout:
    def __init__(self, runtime: Runtime) -> None:
        self._redis = runtime.redis
        self._keys = runtime.keys
        self._settings = runtime.settings

    def _key(self, kind: str, subject: str) -> str:
        # Subjects are user ids, addresses, or an unknown login's keyed hash
        # (auth.throttle.login_subject): never an email address or mobile number.
        return self._keys("auth", "lockout", kind, subject)

    def begin(self, account: str, ip: str | None) -> Attempt:
        """Count an attempt, or refuse it (429) while the account or the address is locked."""
        settings = self._settings
        attempts = self._key("attempts", account)
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(attempts, 0, ex=settings.lockout_window_seconds, nx=True)
        pipe.incr(attempts)
        pipe.ttl(self._key("locked", account))
        pipe.ttl(self._key("ip-locked", ip or "-"))
        _, number, account_ttl, ip_ttl = pipe.execute()
        blocked_for = max(int(account_ttl), int(ip_ttl), 0)
        if blocked_for or number > settings.lockout_threshold:
            # Refused attempts must not use up tries once the lock ends. The counter
            # may have been reset meanwhile: never leave it without an expiry.
            undo = self._redis.pipeline(transaction=True)
            undo.decr(attempts)
            undo.expire(attempts, settings.lockout_window_seconds, nx=True)
            undo.execute()
            raise AccountLocked(blocked_for or settings.lockout_base_seconds)
        return Attempt(account, ip, int(number))

    def succeeded(self, attempt: Attempt) -> None:
        self._redis.delete(
            self._key("attempts", attempt.account), self._key("lockouts", attempt.account)
        )

    def failed(self, attempt: Attempt) -> Failure:
        settings = self._settings
        ip_locked_for = None
        if attempt.ip:
            failures, _ = count_in_window(
                self._redis, self._key("ip-failures", attempt.ip), settings.lockout_window_seconds
            )
            if failures == settings.ip_failure_threshold:
                ip_locked_for = settings.lockout_window_seconds
                self._redis.set(self._key("ip-locked", attempt.ip), 1, ex=ip_locked_for)
        if attempt.number < settings.lockout_threshold:
            return Failure(ip_locked_for=ip_locked_for)
        lockouts, _ = count_in_window(
            self._redis, self._key("lockouts", attempt.account), LOCKOUT_MEMORY_SECONDS
        )
        delay = min(
            settings.lockout_base_seconds * 2 ** min(lockouts - 1, 20), settings.lockout_max_seconds
        )
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(self._key("locked", attempt.account), 1, ex=delay)
        pipe.delete(self._key("attempts", attempt.account))
        pipe.execute()
        return Failure(account_locked_for=delay, ip_locked_for=ip_locked_for)

    def clear_account(self, account: str) -> None:
        """After a password reset the owner gets a clean slate."""
        self._redis.delete(
            self._key("attempts", account),
            self._key("lockouts", account),
            self._key("locked", account),
        )

    def locked_for(self, account: str) -> int:
        return seconds_left(self._redis, self._key("locked", account))


def record_lockouts(
    runtime: Runtime,
    ctx: SignInContext,
    failure: Failure,
    user_id: Any,
    details: dict[str, Any],
) -> None:
    """Audit the locks a failed attempt set (the password's, or a second factor's)."""
    for scope, seconds in (("account", failure.account_locked_for), ("ip", failure.ip_locked_for)):
        if seconds:
            record = sign_in_record(
                ctx,
                EventType.ACCOUNT_LOCKED,
                user_id=user_id,
                outcome=Outcome.DENIED,
                details={"scope": scope, "seconds": seconds, **details},
            )
            emit_now(runtime, record)
