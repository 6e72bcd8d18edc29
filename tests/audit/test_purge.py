"""`POST /audit/purge`: older than N days, or 0 for all; the purge itself is the next event."""

from __future__ import annotations

from fastapi.testclient import TestClient

from shared.audit import EventType
from shared.models import UserAccount
from shared.runtime import Runtime
from tests.audit.support import ago, drain, record, row_count, stored, stored_uuids


def _events(auditor: TestClient) -> list[dict]:
    response = auditor.get("/audit/events", params={"limit": 500})
    assert response.status_code == 200
    return list(response.json()["items"])


def test_purge_older_than_n_days_keeps_the_recent_events(
    runtime: Runtime, auditor: TestClient, admin_user: UserAccount
) -> None:
    old = [record(occurred_at=ago(days=31 + n)) for n in range(3)]
    recent = [record(occurred_at=ago(days=29)), record(occurred_at=ago(minutes=1))]
    stored(runtime, *old, *recent)

    response = auditor.post("/audit/purge", json={"older_than_days": 30})

    assert response.status_code == 200
    assert response.json() == {"deleted": 3}
    items = _events(auditor)
    assert [i["uuid"] for i in items[1:]] == [e.uuid for e in reversed(recent)]
    purge = items[0]
    assert purge["type"] == EventType.AUDIT_PURGED
    assert purge["actor"] == {"type": "admin", "id": str(admin_user.id), "name": admin_user.name}
    assert purge["effective_ip"] == "127.0.0.1"
    assert purge["details"]["older_than_days"] == 30
    assert purge["details"]["deleted"] == 3


def test_purge_zero_starts_fresh_with_only_the_purge_event(
    runtime: Runtime, auditor: TestClient
) -> None:
    # More than one delete batch, and events from every age including just now.
    stored(runtime, *[record(occurred_at=ago(seconds=n)) for n in range(6000)])

    response = auditor.post("/audit/purge", json={"older_than_days": 0})

    assert response.json() == {"deleted": 6000}
    items = _events(auditor)
    assert len(items) == 1
    assert items[0]["type"] == "audit.purged"
    assert items[0]["details"] == {
        "reason": "admin",
        "older_than_days": 0,
        "before": None,
        "deleted": 6000,
    }
    # The purge event also went through the stream; the consumer does not store it twice.
    drain(runtime)
    assert stored_uuids(runtime) == [items[0]["uuid"]]


def test_purge_of_an_empty_log_still_records_the_purge(
    runtime: Runtime, auditor: TestClient
) -> None:
    response = auditor.post("/audit/purge", json={"older_than_days": 7})

    assert response.json() == {"deleted": 0}
    assert row_count(runtime) == 1
    assert _events(auditor)[0]["details"]["deleted"] == 0
