"""Bad filters and bad purge requests: a clear 4xx in the envelope, and nothing purged."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from shared.audit import EventType
from shared.runtime import Runtime
from tests.audit.support import ago, record, row_count, stored


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"type": "no.such.type"}, "type"),
        ({"type": ["api.call", "login.nope"]}, "type"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-45T00:00:00"}, "to"),
        ({"user_id": "not-a-uuid"}, "user_id"),
        ({"application_id": "42"}, "application_id"),
        ({"outcome": "maybe"}, "outcome"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
    ],
)
def test_bad_filters_are_422(auditor: TestClient, params: dict, field: str) -> None:
    # The export takes the same filters (it has no limit: it streams everything).
    paths = ["/audit/events"] if field == "limit" else ["/audit/events", "/audit/events.csv"]
    for path in paths:
        response = auditor.get(path, params=params)
        assert response.status_code == 422, (path, response.text)
        error = response.json()["error"]
        assert error["code"] == "validation_error"
        assert error["fields"][0]["field"].split(".")[0] == field


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"ip": "300.1.1.1"}, "invalid_ip"),
        ({"from": "2026-02-02T00:00:00Z", "to": "2026-02-01T00:00:00Z"}, "invalid_range"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "invalid_cursor"),
        ({"cursor": "%%%"}, "invalid_cursor"),
    ],
)
def test_filters_the_service_rejects_are_422(auditor: TestClient, params: dict, code: str) -> None:
    response = auditor.get("/audit/events", params=params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code


def test_the_audit_api_needs_an_administrator(audit_client: TestClient) -> None:
    for method, path in (
        ("GET", "/audit/events"),
        ("GET", "/audit/events.csv"),
        ("GET", "/audit/usage"),
        ("POST", "/audit/purge"),
    ):
        response = audit_client.request(method, path, json={"older_than_days": 0})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "body",
    [
        {"older_than_days": -1},
        {"older_than_days": "30"},
        {"older_than_days": 1.5},
        {"older_than_days": True},
        {"older_than_days": None},
        {"older_than_days": 100_000},
        {},
        {"older_than_days": 0, "everything": True},
    ],
)
def test_a_bad_purge_request_purges_nothing(
    runtime: Runtime, auditor: TestClient, body: dict
) -> None:
    stored(runtime, record(occurred_at=ago(days=400)), record(EventType.API_CALL))

    response = auditor.post("/audit/purge", json=body)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert row_count(runtime) == 2
    assert auditor.get("/audit/events", params={"type": "audit.purged"}).json()["items"] == []
