"""`GET /audit/events`: newest first, filters, cursor paging, the seed's columns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from shared.audit import EventType, Outcome
from shared.models import UserAccount
from shared.runtime import Runtime
from tests.audit.support import ago, record, stored

APP_A = "aaaaaaaa-0000-4000-8000-000000000001"
APP_B = "bbbbbbbb-0000-4000-8000-000000000002"
USER_1 = "11111111-0000-4000-8000-000000000001"


def _types(response_json: dict) -> list[str]:
    return [item["type"] for item in response_json["items"]]


def test_events_come_newest_first_with_what_the_console_table_shows(
    runtime: Runtime, auditor: TestClient, admin_user: UserAccount
) -> None:
    older = record(EventType.LOGIN_FAILED, occurred_at=ago(hours=2), outcome=Outcome.FAILURE)
    newer = record(
        EventType.API_DENIED_IP,
        occurred_at=ago(minutes=5),
        subject_user_id=str(admin_user.id),
        application_id=APP_A,
        actor_type="app",
        actor_name="CRM",
        effective_ip="203.0.113.9",
        forwarded_ip="203.0.113.9, 10.255.0.2",
        remote_addr="10.255.0.2",
    )
    stored(runtime, older, newer)

    response = auditor.get("/audit/events")

    assert response.status_code == 200
    body = response.json()
    assert _types(body) == ["api.denied.ip_rejected", "login.failed"]
    assert body["next_cursor"] is None
    item = body["items"][0]
    # Event, User, IP, Date and Time of the seed's audit table:
    assert item["type"] == "api.denied.ip_rejected"
    assert item["subject_user_id"] == str(admin_user.id)
    assert item["subject_user_name"] == admin_user.name
    assert item["effective_ip"] == "203.0.113.9"
    assert item["forwarded_ip"] == "203.0.113.9, 10.255.0.2"
    assert item["remote_addr"] == "10.255.0.2"
    assert datetime.fromisoformat(item["occurred_at"]) == newer.occurred_at
    assert item["actor"] == {"type": "app", "id": "admin-1", "name": "CRM"}
    assert item["outcome"] == "denied"
    assert item["uuid"] == newer.uuid


def test_each_filter_narrows_the_list(runtime: Runtime, auditor: TestClient) -> None:
    stored(
        runtime,
        record(EventType.API_CALL, application_id=APP_A, subject_user_id=USER_1),
        record(EventType.API_CALL, application_id=APP_B, effective_ip="2001:db8::1"),
        record(EventType.API_DENIED_IP, application_id=APP_A, effective_ip="203.0.113.9"),
        record(EventType.LOGIN_FAILED, subject_user_id=USER_1, outcome=Outcome.FAILURE),
        record(EventType.ADMIN_APP_CREATED, application_id=APP_B),
    )

    def types(**params: object) -> list[str]:
        response = auditor.get("/audit/events", params=params)  # type: ignore[arg-type]
        assert response.status_code == 200, response.text
        return sorted(_types(response.json()))

    assert types(type="api.call") == ["api.call", "api.call"]
    assert types(type=["api.denied.ip_rejected", "login.failed"]) == [
        "api.denied.ip_rejected",
        "login.failed",
    ]
    assert types(user_id=USER_1) == ["api.call", "login.failed"]
    assert types(application_id=APP_A) == ["api.call", "api.denied.ip_rejected"]
    assert types(ip="203.0.113.9") == ["api.denied.ip_rejected"]
    assert types(ip="2001:0db8:0:0::1") == ["api.call"]  # compared in canonical form
    assert types(outcome="denied") == ["api.denied.ip_rejected"]
    assert types(outcome="failure") == ["login.failed"]
    assert types(type="api.call", application_id=APP_B) == ["api.call"]
    assert types(type="audit.purged") == []


def test_time_range_is_from_inclusive_to_exclusive(runtime: Runtime, auditor: TestClient) -> None:
    base = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    stored(
        runtime,
        *[record(occurred_at=base + timedelta(hours=h), actor_name=f"h{h}") for h in range(5)],
    )

    response = auditor.get(
        "/audit/events", params={"from": "2026-03-01T13:00:00Z", "to": "2026-03-01T15:00:00"}
    )

    assert response.status_code == 200
    assert [i["actor"]["name"] for i in response.json()["items"]] == ["h2", "h1"]


def test_cursor_paging_visits_every_event_once(runtime: Runtime, auditor: TestClient) -> None:
    same_moment = ago(minutes=1)
    events = [record(occurred_at=ago(minutes=10 + n)) for n in range(4)]
    events += [record(occurred_at=same_moment) for _ in range(3)]  # ties broken by id
    stored(runtime, *events)

    seen: list[str] = []
    pages = 0
    params: dict[str, object] = {"limit": 3}
    while True:
        response = auditor.get("/audit/events", params=params)  # type: ignore[arg-type]
        assert response.status_code == 200
        body = response.json()
        seen += [item["uuid"] for item in body["items"]]
        pages += 1
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]

    assert pages == 3
    assert sorted(seen) == sorted(e.uuid for e in events)
    assert len(set(seen)) == 7
    assert seen[3:] == [e.uuid for e in events[:4]]  # the older ones last, newest first


def test_a_page_that_ends_exactly_at_the_last_event_has_no_cursor(
    runtime: Runtime, auditor: TestClient
) -> None:
    stored(runtime, record(), record())

    response = auditor.get("/audit/events", params={"limit": 2})

    assert len(response.json()["items"]) == 2
    assert response.json()["next_cursor"] is None
