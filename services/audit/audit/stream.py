"""The audit stream as the consumer group sees it: read, claim, acknowledge, set aside.

Entries are deleted from the stream as they are acknowledged, so Redis holds
only what is not stored yet; nothing unacknowledged is ever trimmed.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import redis

from shared.redis_client import Keys

GROUP = "audit"
# Malformed entries kept for a person to look at; the newest this many.
DEAD_LETTER_MAXLEN = 10_000
# A consumer silent this long with nothing pending is forgotten (restarts get new names).
FORGET_CONSUMER_MS = 24 * 3600 * 1000

Entry = tuple[str, dict[str, Any] | None]


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class AuditStream:
    def __init__(self, client: redis.Redis, keys: Keys, name: str) -> None:
        self.redis = client
        self.key = keys.audit_stream
        self.dead_letter_key = keys("audit", "dead-letter")
        self.name = name

    def ensure_group(self) -> None:
        """Create the group (and the stream) if missing; from the start, so nothing is skipped."""
        try:
            self.redis.xgroup_create(self.key, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read(self, *, own_pending: bool, count: int, block_ms: int | None) -> list[Entry]:
        """New entries, or (own_pending) those delivered to this name but not acknowledged.

        `block_ms` None returns at once when nothing is new (0 would wait forever).
        """
        reply: Any
        if own_pending:
            reply = self.redis.xreadgroup(GROUP, self.name, {self.key: "0"}, count=count)
        else:
            reply = self.redis.xreadgroup(
                GROUP, self.name, {self.key: ">"}, count=count, block=block_ms
            )
        if not reply:
            return []
        return [(entry_id, fields) for entry_id, fields in reply[0][1]]

    def claim(self, min_idle_ms: int, start: str, count: int) -> tuple[str, list[Entry]]:
        """Take over entries another consumer left pending for `min_idle_ms`."""
        reply: Any = self.redis.xautoclaim(
            self.key, GROUP, self.name, min_idle_time=min_idle_ms, start_id=start, count=count
        )
        return reply[0], [(entry_id, fields) for entry_id, fields in reply[1]]

    def acknowledge(self, entry_ids: list[str]) -> None:
        if not entry_ids:
            return
        pipe = self.redis.pipeline(transaction=True)
        pipe.xack(self.key, GROUP, *entry_ids)
        pipe.xdel(self.key, *entry_ids)
        pipe.execute()

    def set_aside(self, entry_id: str, fields: dict[str, Any], reason: str) -> None:
        """Copy a malformed entry to the dead-letter stream (the caller then acknowledges it)."""
        payload = {str(k): str(v) for k, v in fields.items()}
        payload.update({"original_id": entry_id, "reason": reason[:500]})
        self.redis.xadd(
            self.dead_letter_key,
            payload,  # type: ignore[arg-type]
            maxlen=DEAD_LETTER_MAXLEN,
            approximate=True,
        )

    def forget_departed_consumers(self) -> None:
        consumers: Any = self.redis.xinfo_consumers(self.key, GROUP)
        for consumer in consumers:
            if (
                consumer["name"] != self.name
                and consumer["pending"] == 0
                and consumer["idle"] > FORGET_CONSUMER_MS
            ):
                self.redis.xgroup_delconsumer(self.key, GROUP, consumer["name"])
