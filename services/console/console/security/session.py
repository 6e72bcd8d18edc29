"""The console's sign-in session: an opaque id in a cookie, the data in Redis.

The browser only ever holds a random id. What it stands for (the
administrator's tokens, the CSRF token, timestamps) is stored encrypted in
Redis under a keyed hash of the id, so neither a stolen Redis dump nor a
leaked log line gives anyone a usable console session.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from shared.runtime import Runtime

COOKIE = "console_session"
# Over HTTPS: the `__Host-` prefix makes browsers insist on Secure, Path=/ and no Domain.
SECURE_COOKIE = "__Host-console_session"


@dataclass
class ConsoleSession:
    id: str
    csrf_token: str
    created_at: float
    last_seen_at: float
    admin: dict[str, Any] | None = None  # {"id", "name", "login"}
    access_token: str | None = None
    access_expires_at: float = 0.0
    refresh_token: str | None = None
    flash: list[dict[str, str]] = field(default_factory=list)
    # A sign-in waiting for its next step: a code ({"otp_request_id", "destination",
    # "dev_code"?, "login", "mfa"}) or a second factor ({"mfa_challenge_id", "methods", ...}).
    challenge: dict[str, Any] | None = None

    @property
    def signed_in(self) -> bool:
        return self.admin is not None and self.access_token is not None

    def notify(self, text: str, kind: str = "ok") -> None:
        self.flash.append({"kind": kind, "text": text})

    def take_flash(self) -> list[dict[str, str]]:
        messages, self.flash = self.flash, []
        return messages


def _new_session() -> ConsoleSession:
    now = time.time()
    return ConsoleSession(
        id=secrets.token_urlsafe(32),
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
    )


class SessionStore:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self.idle_seconds = runtime.settings.console_session_idle_seconds
        self.max_seconds = runtime.settings.console_session_max_seconds

    def _key(self, session_id: str) -> str:
        return self._runtime.keys("console", "session", self._runtime.box.keyed_hash(session_id))

    def new(self) -> ConsoleSession:
        return _new_session()

    def load(self, session_id: str) -> ConsoleSession | None:
        """The live session with this id; None when unknown, idle too long or too old."""
        if not session_id or len(session_id) > 128:
            return None
        raw = self._runtime.redis.get(self._key(session_id))
        if raw is None:
            return None
        try:
            data = json.loads(self._runtime.box.decrypt(str(raw)))
            session = ConsoleSession(**data)
        except (ValueError, TypeError):
            return None
        now = time.time()
        if now - session.last_seen_at > self.idle_seconds or (
            now - session.created_at > self.max_seconds
        ):
            self.delete(session)
            return None
        session.last_seen_at = now
        return session

    def open(self, session_id: str) -> ConsoleSession:
        """The presented live session, or a new one; a RedisError when Redis can't be asked
        (then no session could be saved either, so the page must not be served as usual)."""
        if not session_id:
            self._runtime.redis.ping()
        return self.load(session_id) or self.new()

    def save(self, session: ConsoleSession) -> None:
        payload = self._runtime.box.encrypt(json.dumps(asdict(session)))
        # The Redis expiry is the idle timeout; the absolute one is checked on load.
        self._runtime.redis.set(self._key(session.id), payload, ex=self.idle_seconds)

    def delete(self, session: ConsoleSession) -> None:
        self._runtime.redis.delete(self._key(session.id))

    def rotate(self, session: ConsoleSession) -> ConsoleSession:
        """A fresh id and CSRF token at sign-in and sign-out (no session fixation)."""
        self.delete(session)
        fresh = _new_session()
        fresh.flash = session.flash
        return fresh


def cookie_name(secure: bool) -> str:
    return SECURE_COOKIE if secure else COOKIE
