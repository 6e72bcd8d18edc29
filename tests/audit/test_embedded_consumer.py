"""The embedded dev mode: the consumer runs as a thread of the one process, on SQLite."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from audit.app import create_app
from shared.audit import EventType
from shared.migrate import upgrade
from shared.models import UserAccount
from shared.runtime import Runtime
from shared.settings import Environment, Settings
from shared.signing_keys import ensure_signing_keys
from shared.sync_contract import compute_sync_hash
from shared.tokens import CONSOLE_AUDIENCE
from tests.audit.support import emit, record, wait_for

pytestmark = pytest.mark.embedded


@pytest.fixture
def dev_runtime(tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(
        env=Environment.DEV,
        database_url=f"sqlite:///{tmp_path / 'identity.db'}",
        redis_url=f"memory://audit-{uuid.uuid4().hex[:8]}",
        secret_key="dev-secret-for-the-embedded-audit-test",
    )
    upgrade(settings.database_url)
    runtime = Runtime(settings)
    with runtime.session_factory() as session:
        ensure_signing_keys(session, runtime.box)
    yield runtime
    runtime.close()


def _admin_token(runtime: Runtime) -> str:
    fields = {
        "name": "Dev Admin",
        "email": "dev@example.com",
        "mobile_number": None,
        "emp_id": None,
        "status": "active",
    }
    admin = UserAccount(**fields, is_admin=True, sync_hash=compute_sync_hash(fields))
    with runtime.session_factory() as session:
        session.add(admin)
        session.commit()
    token, _ = runtime.tokens.mint(
        subject=str(admin.id), audience=CONSOLE_AUDIENCE, ttl_seconds=600
    )
    return token


def test_events_reach_the_log_without_a_separate_consumer(dev_runtime: Runtime) -> None:
    headers = {"Authorization": f"Bearer {_admin_token(dev_runtime)}"}
    app_id = str(uuid.uuid4())
    call = record(EventType.API_CALL, application_id=app_id)

    with TestClient(create_app(dev_runtime)) as client:
        emit(dev_runtime, call, call, record(EventType.API_DENIED_IP, application_id=app_id))

        def listed() -> bool:
            return len(client.get("/audit/events", headers=headers).json()["items"]) == 2

        wait_for(listed, "the consumer thread to store the events")
        [usage] = client.get("/audit/usage", headers=headers).json()["items"]
        purge = client.post("/audit/purge", headers=headers, json={"older_than_days": 0})

    assert (usage["calls"], usage["denied"]) == (1, 1)
    assert purge.json() == {"deleted": 2}
