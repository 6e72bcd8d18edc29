"""The real `python -m audit.consumer` process: stopped, killed, restarted, nothing lost or doubled."""

from __future__ import annotations

import signal

from shared.audit import EventType
from shared.models.audit import AuditUsage
from shared.runtime import Runtime
from tests.audit.support import consumer_process, emit, record, row_count, stored_uuids, wait_for

APP_ID = "7d1f0000-0000-4000-8000-000000000001"


def _no_pending(runtime: Runtime) -> bool:
    return int(runtime.redis.xpending(runtime.keys.audit_stream, "audit")["pending"]) == 0


def _calls(runtime: Runtime) -> int:
    with runtime.session_factory() as session:
        usage = session.get(AuditUsage, APP_ID)
        return usage.calls if usage else 0


def test_events_produced_while_the_consumer_is_stopped_all_arrive_once(runtime: Runtime) -> None:
    with consumer_process(runtime) as process:
        wait_for(lambda: runtime.redis.exists(runtime.keys.audit_stream) == 1, "the group")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0

    events = [record(EventType.API_CALL, application_id=APP_ID) for _ in range(10_000)]
    for start in range(0, len(events), 1000):
        emit(runtime, *events[start : start + 1000])
    assert row_count(runtime) == 0

    with consumer_process(runtime):
        wait_for(lambda: row_count(runtime) >= 10_000 and _no_pending(runtime), "10,000 rows")

    uuids = stored_uuids(runtime)
    assert len(uuids) == 10_000
    assert set(uuids) == {e.uuid for e in events}
    assert _calls(runtime) == 10_000
    assert runtime.redis.xlen(runtime.keys.audit_stream) == 0


def test_a_consumer_killed_mid_batch_loses_and_doubles_nothing(runtime: Runtime) -> None:
    events = [record(EventType.API_CALL, application_id=APP_ID) for _ in range(10_000)]
    for start in range(0, len(events), 1000):
        emit(runtime, *events[start : start + 1000])

    with consumer_process(runtime) as first:
        wait_for(lambda: row_count(runtime) > 0, "the first rows")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    assert row_count(runtime) < 10_000  # it really died part-way

    # A new process has a new name: it takes over the dead one's pending entries.
    with consumer_process(runtime, claim_idle_seconds=0.5):
        wait_for(lambda: row_count(runtime) >= 10_000 and _no_pending(runtime), "10,000 rows")

    uuids = stored_uuids(runtime)
    assert len(uuids) == 10_000
    assert set(uuids) == {e.uuid for e in events}
    assert _calls(runtime) == 10_000


def test_sigterm_finishes_the_batch_and_exits_cleanly(runtime: Runtime) -> None:
    emit(runtime, *[record() for _ in range(2000)])
    with consumer_process(runtime) as process:
        wait_for(lambda: row_count(runtime) > 0, "the first rows")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0

    # Whatever it took it stored and acknowledged: the rest still waits in the stream.
    waiting = runtime.redis.xlen(runtime.keys.audit_stream)
    assert _no_pending(runtime)
    assert row_count(runtime) + waiting == 2000
