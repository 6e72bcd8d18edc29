"""`api_key.last_used_at`, fed from the usage the app-facing pipeline batches in Redis.

Every pipeline process flushes `{key_id: ISO time}` into one Redis hash every
few seconds (shared/pipeline.py). This directory worker moves that hash into
the database, so a busy key costs one UPDATE per interval, not one per request.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import cast

import redis
import structlog
from sqlalchemy import Table, bindparam, or_, update
from sqlalchemy.orm import Session

from shared.models import ApiKey
from shared.runtime import Runtime

log = structlog.get_logger("key_usage")

# A holding key left behind by a replica that died mid-move expires on its own.
HOLD_SECONDS = 3600


def _parse_stamp(value: str) -> datetime | None:
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _parse_usage(pending: dict[str, str]) -> list[tuple[uuid.UUID, datetime]]:
    parsed = []
    for key_id, value in pending.items():
        try:
            key_uuid = uuid.UUID(key_id)
        except ValueError:
            continue
        stamp = _parse_stamp(value)
        if stamp is not None:
            parsed.append((key_uuid, stamp))
    return parsed


def record_last_used(session: Session, usage: Iterable[tuple[uuid.UUID, datetime]]) -> int:
    """Set `last_used_at` where the new time is later (movers may run out of order)."""
    table = cast(Table, ApiKey.__table__)
    rows = [{"key": key_id, "stamp": stamp} for key_id, stamp in usage]
    if not rows:
        return 0
    statement = (
        update(table)
        .where(
            table.c.id == bindparam("key"),
            or_(table.c.last_used_at.is_(None), table.c.last_used_at < bindparam("stamp")),
        )
        .values(last_used_at=bindparam("stamp"))
    )
    session.execute(statement, rows)
    return len(rows)


def pending_last_used(runtime: Runtime, key_ids: list[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    """Use the pipelines have flushed but the mover has not written yet."""
    if not key_ids:
        return {}
    values: list[str | None] = runtime.redis.hmget(  # type: ignore[assignment]
        runtime.keys.key_usage, [str(k) for k in key_ids]
    )
    result = {}
    for key_id, value in zip(key_ids, values, strict=True):
        stamp = _parse_stamp(value) if value else None
        if stamp is not None:
            result[key_id] = stamp
    return result


class KeyUsageMover:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        # Our own holding key, so several directory replicas can move at once.
        self._holding = runtime.keys("api-key", "last-used", "moving", uuid.uuid4().hex)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _take(self) -> dict[str, str]:
        """Atomically take the whole hash; pipelines start a fresh one meanwhile."""
        client = self._runtime.redis
        # A holding key still here means the last round failed: retry it first.
        if not client.exists(self._holding):
            pipe = client.pipeline(transaction=True)
            pipe.rename(self._runtime.keys.key_usage, self._holding)
            pipe.expire(self._holding, HOLD_SECONDS)
            try:
                pipe.execute()
            except redis.ResponseError as exc:
                if "no such key" in str(exc).lower():
                    return {}
                raise
        return client.hgetall(self._holding)  # type: ignore[return-value]

    def move(self) -> int:
        """Write pending usage to `api_key.last_used_at`; returns how many keys it covered."""
        usage = _parse_usage(self._take())
        if usage:
            with self._runtime.session_factory() as session:
                record_last_used(session, usage)
                session.commit()
        self._runtime.redis.delete(self._holding)
        return len(usage)

    def _loop(self) -> None:
        interval = self._runtime.settings.key_usage_flush_seconds
        while not self._stop.wait(interval):
            try:
                self.move()
            except Exception as exc:  # keep going after a DB or Redis hiccup
                log.warning("key_usage_move_failed", error=str(exc))

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="key-usage-mover", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3)
            self._thread = None
        try:
            self.move()
        except Exception as exc:
            log.warning("key_usage_move_failed", error=str(exc))


def move_key_usage(runtime: Runtime) -> int:
    """One move, right now (what the background worker does every few seconds)."""
    return KeyUsageMover(runtime).move()


_registered: weakref.WeakKeyDictionary[Runtime, KeyUsageMover] = weakref.WeakKeyDictionary()


def register_usage_mover(runtime: Runtime) -> None:
    """Start the mover with the runtime; once per runtime, however often the app starts."""
    if runtime in _registered:
        return
    mover = KeyUsageMover(runtime)
    _registered[runtime] = mover
    runtime.add_background(mover.start, mover.stop)
