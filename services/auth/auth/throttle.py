"""Counters and cool-downs in Redis, atomic across replicas (MULTI/EXEC, no Lua: the
embedded mode's in-process Redis has no scripting)."""

from __future__ import annotations

import redis

from shared.contact import Login
from shared.runtime import Runtime


def count_in_window(client: redis.Redis, key: str, window_seconds: int) -> tuple[int, int]:
    """Add one to a fixed-window counter; return (count, seconds until the window resets)."""
    pipe = client.pipeline(transaction=True)
    pipe.set(key, 0, ex=window_seconds, nx=True)
    pipe.incr(key)
    pipe.ttl(key)
    _, count, ttl = pipe.execute()
    return int(count), max(int(ttl), 1)


def claim_cooldown(client: redis.Redis, key: str, seconds: int) -> int:
    """0 when the caller may go ahead (and starts the cool-down), else seconds left."""
    if seconds <= 0:
        return 0
    if client.set(key, 1, ex=seconds, nx=True):
        return 0
    return max(int(client.ttl(key)), 1)


def seconds_left(client: redis.Redis, key: str) -> int:
    """Remaining lifetime of a key; 0 when it does not exist."""
    return max(int(client.ttl(key)), 0)


def login_subject(runtime: Runtime, login: Login) -> str:
    """What names a login in a Redis key: its keyed hash, so that a key listing, `MONITOR`
    or a dump shows no email address or mobile number. The login is normalised first, so
    it still has exactly one counter of each kind. A new first secret key starts these
    counters afresh; the longest-lived of them lasts a day."""
    return runtime.box.keyed_hash(login.value)
