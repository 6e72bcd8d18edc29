"""The consumer in-process: each event stored once, with every field, whatever is replayed."""

from __future__ import annotations

import threading

from sqlalchemy import select

from audit.consumer import AuditConsumer
from audit.store import prepare_event
from shared.audit import EventType, Outcome
from shared.models.audit import AuditEvent
from shared.runtime import Runtime
from tests.audit.support import (
    consumer_thread,
    drain,
    emit,
    record,
    row_count,
    stored_uuids,
    wait_for,
)


def test_an_emitted_event_is_stored_with_all_its_fields(runtime: Runtime) -> None:
    event = record(
        EventType.API_DENIED_IP,
        actor_type="app",
        actor_id="app-1",
        actor_name="CRM",
        application_id="5f0c2a0e-1111-4222-8333-444455556666",
        subject_user_id="0b7f6c9e-aaaa-4bbb-8ccc-dddddddddddd",
        effective_ip="203.0.113.9",
        forwarded_ip="203.0.113.9, 10.255.0.2",
        remote_addr="10.255.0.2",
        details={"method": "POST", "path": "/auth/login"},
    )
    emit(runtime, event)

    assert drain(runtime) == 1

    with runtime.session_factory() as session:
        row = session.scalars(select(AuditEvent)).one()
    assert row.uuid == event.uuid
    assert row.occurred_at == event.occurred_at
    assert (row.type, row.outcome) == ("api.denied.ip_rejected", Outcome.DENIED)
    assert (row.actor_type, row.actor_id, row.actor_name) == ("app", "app-1", "CRM")
    assert row.application_id == event.application_id
    assert row.subject_user_id == event.subject_user_id
    assert (row.effective_ip, row.forwarded_ip, row.remote_addr) == (
        "203.0.113.9",
        "203.0.113.9, 10.255.0.2",
        "10.255.0.2",
    )
    assert row.details == {"method": "POST", "path": "/auth/login"}
    # Stored and acknowledged entries leave the stream: Redis does not grow forever.
    assert runtime.redis.xlen(runtime.keys.audit_stream) == 0


def test_the_same_event_delivered_twice_is_one_row(runtime: Runtime) -> None:
    event = record()
    emit(runtime, event, event)
    drain(runtime)
    emit(runtime, event)
    drain(runtime, name="another-consumer")

    assert stored_uuids(runtime) == [event.uuid]


def test_a_batch_stored_but_not_acknowledged_is_not_stored_twice(runtime: Runtime) -> None:
    # A consumer that dies between COMMIT and XACK: its entries stay pending.
    events = [record(EventType.API_CALL, application_id="app-a") for _ in range(3)]
    emit(runtime, *events)
    dying = AuditConsumer(runtime, name="dying")
    dying.stream.ensure_group()
    entries = dying.stream.read(own_pending=False, count=10, block_ms=None)
    dying._store_once([prepare_event(e) for e in events])

    survivor = AuditConsumer(runtime, name="survivor", claim_idle_seconds=0.001)
    assert survivor.claim_abandoned() == 0

    assert len(entries) == 3
    assert sorted(stored_uuids(runtime)) == sorted(e.uuid for e in events)
    assert runtime.redis.xpending(runtime.keys.audit_stream, "audit")["pending"] == 0


def test_malformed_entries_are_set_aside_and_do_not_block_the_rest(runtime: Runtime) -> None:
    good = record()
    stream = runtime.keys.audit_stream
    runtime.redis.xadd(stream, {"event": "{not json"})
    runtime.redis.xadd(stream, {"event": '{"type": "no.such.type"}'})
    runtime.redis.xadd(stream, {"something": "else"})
    emit(runtime, record(uuid="not-a-uuid-" + "x" * 40))
    emit(runtime, good)

    drain(runtime)

    assert stored_uuids(runtime) == [good.uuid]
    dead = runtime.redis.xrange(runtime.keys("audit", "dead-letter"))
    assert len(dead) == 4
    assert all(fields["reason"].startswith("unreadable") for _, fields in dead)
    assert dead[0][1]["event"] == "{not json"
    assert runtime.redis.xpending(stream, "audit")["pending"] == 0


def test_stored_details_are_masked_and_cannot_forge_lines(runtime: Runtime) -> None:
    event = record(
        user_agent="curl\r\nFAKE 200 admin.setup",
        actor_name="x" * 500,
        details={"password": "hunter2hunter2", "note": "line1\nline2", "ok": 1},
    )
    emit(runtime, event)
    drain(runtime)

    with runtime.session_factory() as session:
        row = session.scalars(select(AuditEvent)).one()
    assert row.user_agent == "curl\\r\\nFAKE 200 admin.setup"
    assert row.actor_name == "x" * 200
    assert row.details == {"password": "***", "note": "line1\\nline2", "ok": 1}


def test_events_wait_in_the_stream_until_a_consumer_runs(runtime: Runtime) -> None:
    emit(runtime, *[record() for _ in range(1200)])
    assert row_count(runtime) == 0

    assert drain(runtime) == 1200
    assert row_count(runtime) == 1200


def test_a_trickle_of_events_is_stored_in_one_batch_after_the_first(runtime: Runtime) -> None:
    # The first event after a quiet spell is stored at once; those that follow within the
    # linger wait for it and are stored together, in one transaction.
    batches: list[int] = []
    with consumer_thread(runtime, linger_ms=3000, handled=batches):
        first = emit(runtime, record())
        wait_for(lambda: row_count(runtime) == 1, "the first event")
        trickle = [emit(runtime, record())[0] for _ in range(10)]
        assert row_count(runtime) == 1  # lingering: not read yet, still in the stream
        wait_for(lambda: row_count(runtime) == 11, "the trickle", timeout=30)

    assert batches == [1, 10]
    assert sorted(stored_uuids(runtime)) == sorted(e.uuid for e in [*first, *trickle])


def test_stopping_a_lingering_consumer_does_not_wait_for_the_linger(runtime: Runtime) -> None:
    consumer = AuditConsumer(runtime, name="lingering", block_ms=50, linger_ms=60_000)
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()
    emit(runtime, record())
    wait_for(lambda: row_count(runtime) == 1, "the event")  # then it lingers for a minute

    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_a_restart_under_the_same_name_stores_its_own_pending_entries(runtime: Runtime) -> None:
    events = [record() for _ in range(5)]
    emit(runtime, *events)
    crashed = AuditConsumer(runtime, name="worker-1")
    crashed.stream.ensure_group()
    assert len(crashed.stream.read(own_pending=False, count=10, block_ms=None)) == 5

    assert AuditConsumer(runtime, name="worker-1").drain() == 5
    assert sorted(stored_uuids(runtime)) == sorted(e.uuid for e in events)
    assert runtime.redis.xpending(runtime.keys.audit_stream, "audit")["pending"] == 0
