"""Consumer of the directory's events: ends sessions and refreshes cached profiles.

Runs as a background thread in every auth replica, all in the consumer group
`auth`, so each event is handled by one replica; handling is idempotent, so
an event handled twice (after a crash, by another replica's claim) is harmless.
An event is acknowledged only after its work has committed.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from typing import Any

import orjson
import redis
import structlog

from auth.accounts import user_payload
from auth.cache import SessionCache
from auth.sessions.revocation import revoke_user_sessions
from shared.directory_events import DirectoryEvent, DirectoryEventType
from shared.models import UserAccount
from shared.runtime import Runtime

log = structlog.get_logger("auth.directory_events")

GROUP = "auth"
CLAIM_IDLE_MS = 30_000
ENDS_EVERY_SESSION = {
    DirectoryEventType.USER_DISABLED: "user_disabled",
    DirectoryEventType.USER_DELETED: "user_deleted",
    DirectoryEventType.USER_PASSWORD_CHANGED: "password_changed",
}


def apply_event(runtime: Runtime, event: DirectoryEvent) -> None:
    user_id = uuid.UUID(event.user_id)
    cache = SessionCache(runtime)
    with runtime.session_factory() as session:
        user = session.get(UserAccount, user_id)
        if event.type in ENDS_EVERY_SESSION or (user is not None and user.status != "active"):
            reason = ENDS_EVERY_SESSION.get(event.type, "user_disabled")
            revoke_user_sessions(session, runtime, user_id, reason)
        elif event.type is DirectoryEventType.USER_UNASSIGNED and event.application_ids:
            apps = [uuid.UUID(a) for a in event.application_ids]
            revoke_user_sessions(session, runtime, user_id, "unassigned", apps)
        payload = user_payload(user) if user is not None else None
        session.commit()
    if payload is None:
        cache.drop_user(event.user_id)
    else:
        cache.store_user(payload, replace=True)


class DirectoryEventConsumer:
    def __init__(self, runtime: Runtime, block_ms: int = 1000) -> None:
        self._runtime = runtime
        self._stream = runtime.keys.directory_events
        self._consumer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._block_ms = block_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _ensure_group(self) -> None:
        try:
            # From the start of the stream: replaying is harmless (every step is idempotent),
            # while skipping an event published just before the group existed is not.
            self._runtime.redis.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _handle(self, entries: list[Any]) -> int:
        handled = 0
        for entry_id, fields in entries:
            if fields is None:  # deleted from the stream meanwhile
                self._runtime.redis.xack(self._stream, GROUP, entry_id)
                continue
            try:
                event = DirectoryEvent.model_validate(orjson.loads(fields["event"]))
                for value in (event.user_id, *event.application_ids):
                    uuid.UUID(value)
            except (KeyError, ValueError) as exc:
                log.error("directory_event_unreadable", entry=entry_id, error=str(exc))
                self._runtime.redis.xack(self._stream, GROUP, entry_id)
                continue
            apply_event(self._runtime, event)
            self._runtime.redis.xack(self._stream, GROUP, entry_id)
            handled += 1
        return handled

    def poll_once(self, block_ms: int | None = None) -> int:
        """Claim what a dead consumer left, then read new events; returns how many were handled."""
        client = self._runtime.redis
        try:
            claimed: Any = client.xautoclaim(
                self._stream, GROUP, self._consumer, CLAIM_IDLE_MS, "0-0", count=100
            )
            handled = self._handle(claimed[1])
            replies: Any = client.xreadgroup(
                GROUP, self._consumer, {self._stream: ">"}, count=100, block=block_ms
            )
        except redis.ResponseError as exc:
            # The stream (and its group) went away, e.g. emptied by an operator.
            if "NOGROUP" not in str(exc) and "UNBLOCKED" not in str(exc):
                raise
            self._ensure_group()
            return 0
        for _, entries in replies or []:
            handled += self._handle(entries)
        return handled

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(self._block_ms)
            except Exception as exc:  # Redis or MySQL away: unacked events wait for us
                log.warning("directory_events_retrying", error=str(exc))
                self._stop.wait(1.0)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="directory-events", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
