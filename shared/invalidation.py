"""Cross-replica cache invalidation over Redis pub/sub.

Writers publish a topic after commit; every process listening drops what it
cached for that topic. A message can be lost (the publisher's Redis call
failed after its commit, or this process was reconnecting), so the listener
also drops every cache each `RESYNC_SECONDS`: a lost message costs at most
that long, or the cache's own TTL where that is shorter (API keys: 5 s).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from enum import StrEnum

import redis
import structlog

log = structlog.get_logger("invalidation")

RESYNC_SECONDS = 30.0


class Topic(StrEnum):
    API_KEYS = "api_keys"  # keys and the applications they name
    USERS = "users"
    SIGNING_KEYS = "signing_keys"
    PLATFORM = "platform"
    OIDC_CLIENTS = "oidc_clients"  # an application's OpenID Connect settings


class InvalidationBus:
    def __init__(
        self, client: redis.Redis, channel: str, *, resync_seconds: float | None = None
    ) -> None:
        self._redis = client
        self._channel = channel
        self._resync_seconds = RESYNC_SECONDS if resync_seconds is None else resync_seconds
        self._handlers: dict[str, list[Callable[[], None]]] = defaultdict(list)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def subscribe(self, topic: Topic, handler: Callable[[], None]) -> None:
        self._handlers[topic.value].append(handler)

    def publish(self, topic: Topic) -> None:
        # Drop our own cache at once; the message reaches the other replicas.
        self._dispatch(topic.value)
        try:
            self._redis.publish(self._channel, topic.value)
        except redis.RedisError as exc:
            log.error("invalidation_publish_failed", topic=topic.value, error=str(exc))

    def _dispatch(self, topic: str) -> None:
        for handler in self._handlers.get(topic, ()):
            try:
                handler()
            except Exception as exc:  # one broken handler must not keep the others stale
                log.error("invalidation_handler_failed", topic=topic, error=repr(exc))

    def publish_local_all(self) -> None:
        """Drop every cache in this process (tests, and after a reconnect)."""
        for topic in list(self._handlers):
            self._dispatch(topic)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._listen, name="invalidation", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3)
            self._thread = None

    def _listen(self) -> None:
        while not self._stop.is_set():
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self._channel)
                # After (re)subscribing we may have missed messages: drop everything.
                self.publish_local_all()
                resynced = time.monotonic()
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=min(0.5, self._resync_seconds))
                    if message and message.get("type") == "message":
                        self._dispatch(str(message["data"]))
                    if time.monotonic() - resynced >= self._resync_seconds:
                        self.publish_local_all()
                        resynced = time.monotonic()
            except Exception as exc:
                # RedisError, or what redis-py raises from a socket that died under it
                # (hiredis: "argument must be an int, or have a fileno() method"):
                # either way, reconnect, never let the listener end.
                log.warning("invalidation_listener_reconnecting", error=repr(exc)[:200])
                self._stop.wait(1.0)
            finally:
                with contextlib.suppress(redis.RedisError):
                    pubsub.close()
