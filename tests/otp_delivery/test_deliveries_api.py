"""`GET /otp/deliveries`: the delivery log, filtered and paged, newest first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from otp_delivery.deliveries.repository import DeliveryLog
from shared.otp_contract import Channel, OtpDeliveryTask, Purpose
from shared.runtime import Runtime

DAY = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def logged(
    runtime: Runtime,
    when: datetime,
    channel: Channel = Channel.SMS,
    purpose: Purpose = Purpose.LOGIN,
    outcome: str = "sent",
) -> uuid.UUID:
    """A row as the worker leaves it."""
    destination = "+14155550100" if channel is Channel.SMS else "ada@example.com"
    task = OtpDeliveryTask(
        delivery_id=uuid.uuid4(),
        channel=channel,
        purpose=purpose,
        destination=destination,
        requested_at=when,
        expires_at=when + timedelta(minutes=5),
    )
    log = DeliveryLog(runtime.session_factory)
    log.start_attempt(task, "generic_api")
    if outcome == "sent":
        log.mark_sent(task.delivery_id, "200")
    elif outcome == "failed":
        log.mark_failed(task, "generic_api", "the provider refused the request (HTTP 401)", "401")
    elif outcome == "expired":
        log.mark_expired(task, "generic_api")
    return task.delivery_id


@pytest.fixture
def history(runtime: Runtime) -> dict[str, uuid.UUID]:
    return {
        "sms_sent": logged(runtime, DAY),
        "email_sent": logged(runtime, DAY + timedelta(hours=1), Channel.EMAIL),
        "mfa_failed": logged(
            runtime, DAY + timedelta(hours=2), purpose=Purpose.MFA, outcome="failed"
        ),
        "expired": logged(runtime, DAY + timedelta(days=1), outcome="expired"),
        "queued": logged(runtime, DAY + timedelta(days=2), outcome="queued"),
    }


def ids(admin: TestClient, **params: str | int) -> list[str]:
    response = admin.get("/otp/deliveries", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_newest_first_with_masked_destinations(
    otp_admin: TestClient, history: dict[str, uuid.UUID]
) -> None:
    page = otp_admin.get("/otp/deliveries").json()
    assert page["total"] == 5
    assert page["items"][0]["id"] == str(history["queued"])
    email = next(i for i in page["items"] if i["id"] == str(history["email_sent"]))
    assert email["destination"] == "a***a@example.com"
    assert (email["status"], email["attempts"], email["provider_status"]) == ("sent", 1, "200")
    assert email["latency_ms"] is not None
    assert "code" not in email and "secret" not in str(email)


def test_filters(otp_admin: TestClient, history: dict[str, uuid.UUID]) -> None:
    assert ids(otp_admin, status="failed") == [str(history["mfa_failed"])]
    assert ids(otp_admin, channel="email") == [str(history["email_sent"])]
    assert ids(otp_admin, purpose="mfa") == [str(history["mfa_failed"])]
    assert ids(otp_admin, status="expired") == [str(history["expired"])]
    window = {"from": DAY.isoformat(), "to": (DAY + timedelta(hours=2)).isoformat()}
    assert ids(otp_admin, **window) == [str(history["email_sent"]), str(history["sms_sent"])]


def test_paging(otp_admin: TestClient, history: dict[str, uuid.UUID]) -> None:
    first = ids(otp_admin, limit=2)
    second = ids(otp_admin, limit=2, offset=2)
    third = ids(otp_admin, limit=2, offset=4)
    assert len(first) == 2 and len(second) == 2 and len(third) == 1
    assert set(first + second + third) == {str(v) for v in history.values()}


@pytest.mark.parametrize(
    "params",
    [
        {"status": "lost"},
        {"channel": "fax"},
        {"limit": 0},
        {"limit": 501},
        {"offset": -1},
        {"from": "yesterday"},
        {"from": "2025-03-01T00:00:00"},  # no time zone
    ],
)
def test_bad_filters_are_422(otp_admin: TestClient, params: dict[str, str | int]) -> None:
    response = otp_admin.get("/otp/deliveries", params=params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
