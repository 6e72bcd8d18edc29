"""Automatic retention: daily, older than `audit_retention_days`, 0 keeps everything."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from audit.retention import apply_retention, run_daily_retention
from shared.models.audit import AuditEvent
from shared.runtime import Runtime
from tests.audit.support import (
    ago,
    consumer_thread,
    emit,
    record,
    stored,
    stored_uuids,
    wait_for,
)


def _purge_events(runtime: Runtime) -> list[AuditEvent]:
    with runtime.session_factory() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.type == "audit.purged")))


def test_retention_deletes_what_is_older_and_records_it(runtime: Runtime) -> None:
    old = [record(occurred_at=ago(days=91)) for _ in range(3)]
    kept = record(occurred_at=ago(days=89))
    stored(runtime, *old, kept)

    assert apply_retention(runtime, 90) == 3

    [purge] = _purge_events(runtime)
    assert sorted(stored_uuids(runtime)) == sorted([kept.uuid, purge.uuid])
    assert purge.actor_type == "system"
    assert purge.details is not None
    assert (purge.details["reason"], purge.details["deleted"]) == ("retention", 3)


def test_retention_with_nothing_to_delete_records_nothing(runtime: Runtime) -> None:
    stored(runtime, record(occurred_at=ago(days=5)))

    assert apply_retention(runtime, 90) == 0
    assert _purge_events(runtime) == []


def test_retention_runs_once_a_day_whichever_consumer_checks(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime.settings, "audit_retention_days", 30)
    stored(runtime, record(occurred_at=ago(days=40)))

    assert run_daily_retention(runtime) == 1
    stored(runtime, record(occurred_at=ago(days=50)))
    assert run_daily_retention(runtime) is None  # already done today

    assert len(stored_uuids(runtime)) == 2  # the second old event and the purge event


def test_retention_zero_keeps_everything(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime.settings, "audit_retention_days", 0)
    stored(runtime, record(occurred_at=ago(days=4000)))

    assert run_daily_retention(runtime) is None
    assert len(stored_uuids(runtime)) == 1


def test_the_consumer_loop_applies_retention(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime.settings, "audit_retention_days", 365)
    old, new = record(occurred_at=ago(days=400)), record()
    stored(runtime, old)
    emit(runtime, new)

    with consumer_thread(runtime):
        wait_for(
            lambda: (
                set(stored_uuids(runtime)) >= {new.uuid} and old.uuid not in stored_uuids(runtime)
            ),
            "retention and the new event",
        )

    assert len(_purge_events(runtime)) == 1
