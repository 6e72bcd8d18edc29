"""`GET /audit/usage`: calls, denied calls and last call per application, counted once."""

from __future__ import annotations

import threading
from datetime import datetime

from fastapi.testclient import TestClient

from audit.consumer import AuditConsumer
from audit.store import prepare_event, store_records
from shared.audit import EventType
from shared.models.audit import AuditUsage
from shared.runtime import Runtime
from tests.audit.support import ago, record, stored
from tests.factories import make_application

APP_B = "bbbbbbbb-0000-4000-8000-000000000002"


def _usage(auditor: TestClient, **params: str) -> list[dict]:
    response = auditor.get("/audit/usage", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_usage_counts_calls_and_denials_per_application(
    runtime: Runtime, auditor: TestClient, admin: TestClient
) -> None:
    app = make_application(admin, name="Payroll")
    last_call, last_denied = ago(minutes=3), ago(minutes=1)
    stored(
        runtime,
        record(EventType.API_CALL, application_id=app["id"], occurred_at=ago(hours=1)),
        record(EventType.API_CALL, application_id=app["id"], occurred_at=last_call),
        record(EventType.API_DENIED_IP, application_id=app["id"], occurred_at=last_denied),
        record(
            EventType.API_DENIED_APP_DISABLED, application_id=app["id"], occurred_at=ago(hours=2)
        ),
        record(EventType.API_CALL, application_id=APP_B),
        record(EventType.API_DENIED_KEY),  # no application to charge it to
        record(EventType.ADMIN_APP_UPDATED, application_id=app["id"]),  # not API traffic
    )

    items = _usage(auditor)

    assert [i["application_id"] for i in items] == [app["id"], APP_B]
    payroll = items[0]
    assert payroll["application_name"] == "Payroll"
    assert (payroll["calls"], payroll["denied"]) == (2, 2)
    assert datetime.fromisoformat(payroll["last_call_at"]) == last_call
    assert datetime.fromisoformat(payroll["last_denied_at"]) == last_denied
    assert items[1]["application_name"] is None  # an application since deleted
    assert _usage(auditor, application_id=APP_B)[0]["calls"] == 1


def test_usage_survives_a_purge(runtime: Runtime, auditor: TestClient) -> None:
    stored(runtime, *[record(EventType.API_CALL, application_id=APP_B) for _ in range(3)])

    assert auditor.post("/audit/purge", json={"older_than_days": 0}).status_code == 200

    assert _usage(auditor)[0]["calls"] == 3


def test_an_older_event_arriving_late_does_not_move_last_call_back(
    runtime: Runtime, auditor: TestClient
) -> None:
    recent = ago(minutes=1)
    stored(runtime, record(EventType.API_CALL, application_id=APP_B, occurred_at=recent))
    stored(runtime, record(EventType.API_CALL, application_id=APP_B, occurred_at=ago(days=1)))

    [usage] = _usage(auditor)
    assert datetime.fromisoformat(usage["last_call_at"]) == recent
    assert usage["calls"] == 2


def test_two_consumers_storing_the_same_events_count_them_once(runtime: Runtime) -> None:
    # A consumer presumed dead (its entries claimed) that is in fact still committing.
    shared_event = record(EventType.API_CALL, application_id=APP_B)
    other_event = record(EventType.API_CALL, application_id=APP_B)
    with runtime.session_factory() as slow:
        store_records(slow, [prepare_event(shared_event)])  # inserted, not committed yet
        claimer = AuditConsumer(runtime, name="claimer")
        result: list[int] = []
        thread = threading.Thread(
            target=lambda: result.append(
                claimer._store_once([prepare_event(shared_event), prepare_event(other_event)])
            )
        )
        thread.start()
        thread.join(timeout=0.5)  # it waits on the slow one's row lock meanwhile
        slow.commit()
    thread.join(timeout=30)

    assert result == [1]
    with runtime.session_factory() as session:
        usage = session.get(AuditUsage, APP_B)
    assert usage is not None
    assert usage.calls == 2
