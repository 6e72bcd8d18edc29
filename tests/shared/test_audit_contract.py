"""The audit event contract: what goes into the stream, and what cannot."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

import orjson
import pytest
import redis
from pydantic import ValidationError

from shared.audit import (
    STREAM_FIELD,
    AuditEmitter,
    AuditRecord,
    EventType,
    Outcome,
    changed_fields,
)
from shared.logging import MASK
from shared.redis_client import create_redis
from shared.runtime import Runtime


def _record(**overrides: object) -> AuditRecord:
    fields: dict[str, object] = {
        "type": EventType.ADMIN_USER_UPDATED,
        "actor_type": "admin",
        "actor_id": "a-1",
        "actor_name": "Ada Admin",
        "subject_user_id": "u-1",
        "effective_ip": "198.51.100.7",
        "forwarded_ip": "198.51.100.7, 10.255.0.2",
        "remote_addr": "10.255.0.2",
        "user_agent": "pytest",
        "details": {"before": {"name": "Bob"}, "after": {"name": "Robert"}},
    }
    fields.update(overrides)
    return AuditRecord.model_validate(fields)


def test_record_round_trips_through_the_stream_format() -> None:
    record = _record(occurred_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC))
    fields = record.to_stream()
    assert set(fields) == {STREAM_FIELD}
    assert isinstance(fields[STREAM_FIELD], bytes)
    assert AuditRecord.from_stream(fields) == record


def test_from_stream_accepts_what_redis_returns() -> None:
    # A client with decode_responses=True hands back str keys and values.
    record = _record()
    decoded = {STREAM_FIELD: record.to_stream()[STREAM_FIELD].decode()}
    assert AuditRecord.from_stream(decoded) == record
    assert AuditRecord.from_stream({STREAM_FIELD.encode(): decoded[STREAM_FIELD]}) == record


def test_defaults_give_each_record_its_own_uuid_and_a_utc_time() -> None:
    first, second = _record(), _record()
    assert first.uuid != second.uuid
    assert first.occurred_at.tzinfo is not None
    assert first.outcome is Outcome.SUCCESS


def test_secret_details_are_masked_before_the_stream() -> None:
    record = _record(
        details={
            "before": {"password": "old-pass-1234", "name": "Bob"},
            "after": {"password": "new-pass-5678", "name": "Bob"},
            "api_key": "ask_abcd1234_" + "S" * 43,
            "api_key_id": "k-1",
        }
    )
    wire = record.to_stream()[STREAM_FIELD]
    for secret in (b"old-pass-1234", b"new-pass-5678", b"S" * 43):
        assert secret not in wire
    details = orjson.loads(wire)["details"]
    assert details["before"] == {"password": MASK, "name": "Bob"}
    assert details["api_key"] == MASK
    assert details["api_key_id"] == "k-1"


def test_event_types_are_a_closed_set() -> None:
    with pytest.raises(ValidationError, match="type"):
        _record(type="admin.user.hacked")
    wire = orjson.loads(_record().to_stream()[STREAM_FIELD])
    wire["type"] = "something.new"
    with pytest.raises(ValidationError, match="type"):
        AuditRecord.from_stream({STREAM_FIELD: orjson.dumps(wire)})


def test_outcome_is_a_closed_set() -> None:
    with pytest.raises(ValidationError, match="outcome"):
        _record(outcome="maybe")


def test_event_type_values_are_unique_and_dotted() -> None:
    values = [member.value for member in EventType]
    assert len(values) == len(set(values))
    assert all("." in value and value == value.lower() for value in values)


def test_emit_appends_to_the_deployment_audit_stream(runtime: Runtime) -> None:
    stream = runtime.keys.audit_stream
    assert stream.startswith(runtime.settings.redis_prefix)
    record = _record(details={"password": "hunter2-hunter2", "name": "Bob"})
    runtime.audit.emit(record)
    runtime.audit.emit_after_commit(_record(type=EventType.API_CALL, actor_type="app"))

    entries = cast("list[tuple[str, dict[str, str]]]", runtime.redis.xrange(stream))
    assert len(entries) == 2
    first = AuditRecord.from_stream(entries[0][1])
    assert first.uuid == record.uuid
    assert first.type is EventType.ADMIN_USER_UPDATED
    assert first.details == {"password": MASK, "name": "Bob"}
    assert AuditRecord.from_stream(entries[1][1]).type is EventType.API_CALL


def test_emit_after_commit_survives_a_redis_outage() -> None:
    client = create_redis("redis://127.0.0.1:1/0")
    emitter = AuditEmitter(client, "nowhere")
    try:
        # The write it describes has committed: a lost event is logged, not raised.
        emitter.emit_after_commit(_record())
        with pytest.raises(redis.RedisError):
            emitter.emit(_record())
    finally:
        client.close()


def test_changed_fields_lists_only_what_changed() -> None:
    before = {"name": "Bob", "email": "bob@example.com", "status": "active"}
    after = {"name": "Robert", "email": "bob@example.com", "status": "disabled"}
    assert changed_fields(before, after) == {
        "before": {"name": "Bob", "status": "active"},
        "after": {"name": "Robert", "status": "disabled"},
    }
    assert changed_fields(before, dict(before)) == {"before": {}, "after": {}}
