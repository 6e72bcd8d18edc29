"""`last_used_at`: batched by the pipeline into Redis, moved into the database by the directory."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from directory.keys.usage import move_key_usage
from shared.models import ApiKey
from shared.runtime import Runtime
from shared.settings import Settings
from tests.factories import make_application
from tests.shared.test_pipeline_probe import call, probe_app


@pytest.fixture
def gateway(settings: Settings) -> Iterator[Runtime]:
    """An app-facing service process whose usage flusher only runs when the test says so."""
    other = Runtime(settings)
    try:
        yield other
    finally:
        other.close()


def create_key(admin) -> dict:
    app = make_application(admin)
    response = admin.post(f"/directory/applications/{app['id']}/keys")
    assert response.status_code == 201, response.text
    return response.json()


def db_last_used(runtime: Runtime, key_id: str) -> datetime | None:
    with runtime.session_factory() as session:
        return session.scalar(select(ApiKey.last_used_at).where(ApiKey.id == uuid.UUID(key_id)))


def listed_last_used(admin, key_id: str) -> str | None:
    [item] = [k for k in admin.get("/directory/keys").json()["items"] if k["key_id"] == key_id]
    return item["last_used_at"]


def test_last_used_at_is_batched_not_written_per_request(admin, runtime, gateway):
    key = create_key(admin)
    probe = probe_app(gateway)
    for _ in range(5):
        assert call(probe, key["api_key"]).status_code == 200

    # Five calls, and the database has not been touched for any of them.
    assert db_last_used(runtime, key["key_id"]) is None
    assert listed_last_used(admin, key["key_id"]) is None

    assert gateway.app_pipeline.flush_usage() == 1  # one entry per key, not per call
    pending = listed_last_used(admin, key["key_id"])
    assert pending is not None  # the console already shows what waits in Redis

    move_key_usage(runtime)
    stored = db_last_used(runtime, key["key_id"])
    assert stored == datetime.fromisoformat(pending)
    assert not runtime.redis.exists(runtime.keys.key_usage)
    assert listed_last_used(admin, key["key_id"]) == pending


def test_an_older_pending_use_never_moves_last_used_at_back(admin, runtime):
    key = create_key(admin)
    recent = datetime.now(UTC).replace(microsecond=0)
    with runtime.session_factory() as session:
        session.execute(
            update(ApiKey).where(ApiKey.id == uuid.UUID(key["key_id"])).values(last_used_at=recent)
        )
        session.commit()
    older = (recent - timedelta(hours=1)).isoformat()
    runtime.redis.hset(runtime.keys.key_usage, key["key_id"], older)

    assert datetime.fromisoformat(listed_last_used(admin, key["key_id"])) == recent
    move_key_usage(runtime)
    assert db_last_used(runtime, key["key_id"]) == recent


def test_the_mover_skips_garbage_and_keys_that_no_longer_exist(admin, runtime):
    key = create_key(admin)
    used = datetime.now(UTC).replace(microsecond=0)
    runtime.redis.hset(
        runtime.keys.key_usage,
        mapping={
            key["key_id"]: used.isoformat(),
            str(uuid.uuid4()): used.isoformat(),
            "not-a-key-id": used.isoformat(),
            str(uuid.uuid4()) + "x": "yesterday",
        },
    )
    move_key_usage(runtime)
    assert db_last_used(runtime, key["key_id"]) == used
    assert not runtime.redis.exists(runtime.keys.key_usage)
    assert move_key_usage(runtime) == 0  # nothing pending is not an error
