"""Automatic retention: once a day, delete events older than `audit_retention_days`.

The audit consumer calls `run_daily_retention` every few minutes; a Redis key
set with NX and a one-day expiry makes exactly one consumer (of however many)
do the work once per day. 0 days keeps the history forever.
"""

from __future__ import annotations

from datetime import datetime

import structlog

from audit import purge
from shared.models.base import utcnow
from shared.runtime import Runtime

log = structlog.get_logger("audit.retention")

DAY_SECONDS = 24 * 3600
SYSTEM_ACTOR = {"actor_type": "system", "actor_id": None, "actor_name": "audit retention"}


def daily_mark(runtime: Runtime) -> str:
    return runtime.keys("audit", "retention", "daily")


def apply_retention(runtime: Runtime, days: int, now: datetime | None = None) -> int:
    """Delete events older than `days` days; a purge event records it when any went."""
    before = purge.cutoff_for(days, now or utcnow())
    if before is None:
        return 0
    deleted = purge.delete_events(runtime.session_factory, before)
    if deleted:
        with runtime.session_factory() as session:
            purge.record_purge(
                session,
                runtime,
                older_than_days=days,
                before=before,
                deleted=deleted,
                actor=SYSTEM_ACTOR,
                reason="retention",
            )
            session.commit()
        log.info("audit_retention_applied", deleted=deleted, before=before.isoformat())
    return deleted


def run_daily_retention(runtime: Runtime, now: datetime | None = None) -> int | None:
    """Apply retention if no consumer has today; None when it was not this one's turn."""
    days = runtime.settings.audit_retention_days
    if days == 0:
        return None
    mark = daily_mark(runtime)
    if not runtime.redis.set(mark, "1", nx=True, ex=DAY_SECONDS):
        return None
    try:
        return apply_retention(runtime, days, now)
    except Exception:
        # Let the next check (this consumer or another) try again rather than wait a day.
        runtime.redis.delete(mark)
        raise
