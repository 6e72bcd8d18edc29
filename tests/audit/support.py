"""Helpers for the audit tests: emit events, drain the stream, read the table, run the consumer."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from audit.consumer import AuditConsumer
from audit.stream import Entry
from shared.audit import AuditRecord, EventType, Outcome
from shared.models.audit import AuditEvent
from shared.models.base import utcnow
from shared.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]


def record(event: EventType = EventType.ADMIN_USER_UPDATED, **fields: Any) -> AuditRecord:
    values: dict[str, Any] = {
        "type": event,
        "actor_type": "admin",
        "actor_id": "admin-1",
        "actor_name": "Ada Admin",
        "effective_ip": "198.51.100.7",
        "remote_addr": "198.51.100.7",
        "user_agent": "pytest",
    }
    if event in (EventType.API_DENIED_APP_DISABLED, EventType.API_DENIED_IP):
        values["outcome"] = Outcome.DENIED
    values.update(fields)
    return AuditRecord.model_validate(values)


def emit(runtime: Runtime, *records: AuditRecord) -> list[AuditRecord]:
    pipe = runtime.redis.pipeline(transaction=False)
    for item in records:
        pipe.xadd(runtime.keys.audit_stream, item.to_stream())  # type: ignore[arg-type]
    pipe.execute()
    return list(records)


def ago(**delta: float) -> datetime:
    return utcnow() - timedelta(**delta)


def drain(runtime: Runtime, name: str = "test-consumer") -> int:
    """Run one in-process consumer until the stream is empty; returns the new rows."""
    return AuditConsumer(runtime, name=name).drain()


def stored(runtime: Runtime, *records: AuditRecord) -> None:
    emit(runtime, *records)
    drain(runtime)


def row_count(runtime: Runtime) -> int:
    with runtime.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def stored_uuids(runtime: Runtime) -> list[str]:
    with runtime.session_factory() as session:
        return list(session.scalars(select(AuditEvent.uuid)))


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@contextlib.contextmanager
def consumer_process(
    runtime: Runtime, claim_idle_seconds: float = 60
) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m audit.consumer` against the test database and Redis prefix; always ended."""
    settings = runtime.settings
    env = {
        **os.environ,
        "IDENTITY_ENV": "test",
        "IDENTITY_DATABASE_URL": settings.database_url,
        "IDENTITY_REDIS_URL": settings.redis_url,
        "IDENTITY_REDIS_PREFIX": settings.redis_prefix,
        "IDENTITY_SECRET_KEY": settings.secret_key.get_secret_value(),
        "IDENTITY_AUDIT_CLAIM_IDLE_SECONDS": str(claim_idle_seconds),
        "IDENTITY_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "audit.consumer"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)


@contextlib.contextmanager
def consumer_thread(
    runtime: Runtime,
    name: str = "thread-consumer",
    *,
    linger_ms: int | None = None,
    handled: list[int] | None = None,
) -> Iterator[AuditConsumer]:
    """The consumer's real loop on a thread of the test process; stopped at the end.

    `handled`, if given, receives the size of each batch the loop handles.
    """
    consumer = AuditConsumer(runtime, name=name, block_ms=50, linger_ms=linger_ms)
    if handled is not None:
        handle = consumer.handle

        def counting(entries: list[Entry]) -> int:
            handled.append(len(entries))
            return handle(entries)

        consumer.handle = counting  # type: ignore[method-assign]
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield consumer
    finally:
        stop.set()
        thread.join(timeout=10)
