"""Redis client factory and the key namespace every service shares."""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio


def create_redis(url: str) -> redis.Redis:
    """A client for `redis://...`, or an in-process stand-in for `memory://` (dev only)."""
    if url.startswith("memory://"):
        import fakeredis

        server = _memory_servers.setdefault(url, fakeredis.FakeServer())
        return fakeredis.FakeRedis(server=server, decode_responses=True)
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=30,
        retry_on_timeout=True,
        # redis-py's default cap is 100 per process; FastAPI runs the exit of sync
        # generator dependencies (the pipeline's audit) outside the 40-thread pool,
        # so a burst of concurrent requests can need more than that.
        max_connections=1000,
    )


def create_async_redis(url: str) -> redis.asyncio.Redis:
    """The asyncio twin of `create_redis`, for the hot paths that run on the event loop."""
    if url.startswith("memory://"):
        import fakeredis

        server = _memory_servers.setdefault(url, fakeredis.FakeServer())
        return fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
    return redis.asyncio.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=30,
        retry_on_timeout=True,
        max_connections=1000,
    )


_memory_servers: dict[str, Any] = {}


class Keys:
    """Names of every Redis key, stream and channel, under one deployment prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    @property
    def audit_stream(self) -> str:
        return self("audit", "events")

    @property
    def directory_events(self) -> str:
        return self("directory", "events")

    @property
    def invalidation_channel(self) -> str:
        return self("invalidate")

    @property
    def key_usage(self) -> str:
        return self("api-key", "last-used")
