"""The scheduled rotation: a thread in every auth process, one rotation between them."""

from __future__ import annotations

import threading
import weakref
from datetime import timedelta

import structlog

from auth.keys.service import rotate_if_due
from shared.after_commit import defer
from shared.audit import AuditRecord, EventType
from shared.db import transaction
from shared.runtime import Runtime

log = structlog.get_logger("auth.keys")

CHECK_SECONDS = 60.0


def run_scheduled_rotation(runtime: Runtime) -> list[str] | None:
    """Rotate if the period has passed (and is set); the new signing kids, if it did."""
    days = runtime.settings.signing_key_rotation_days
    if not days:
        return None
    with transaction(runtime.session_factory) as session:
        kids = rotate_if_due(session, runtime, timedelta(days=days))
        if kids is not None:
            record = AuditRecord(
                type=EventType.SIGNING_KEYS_ROTATED,
                actor_type="system",
                actor_name="scheduled rotation",
                details={"kids": kids, "period_days": days},
            )
            defer(session, lambda: runtime.audit.emit_after_commit(record))
    if kids is not None:
        log.info("signing_keys_rotated", kids=kids, period_days=days)
    return kids


class RotationSchedule:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _loop(self) -> None:
        while not self._stop.wait(CHECK_SECONDS):
            try:
                run_scheduled_rotation(self._runtime)
            except Exception as exc:  # MySQL or Redis away: the next check retries
                log.warning("scheduled_rotation_failed", error=type(exc).__name__)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="key-rotation", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


_schedules: weakref.WeakKeyDictionary[Runtime, RotationSchedule] = weakref.WeakKeyDictionary()


def register_rotation_schedule(runtime: Runtime) -> None:
    """Run the schedule with the runtime; once per runtime."""
    if runtime in _schedules:
        return
    schedule = _schedules[runtime] = RotationSchedule(runtime)
    runtime.add_background(schedule.start, schedule.stop)
