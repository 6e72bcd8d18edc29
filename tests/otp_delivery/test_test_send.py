"""`POST /otp/test-sms` and `/otp/test-email`: one real send now, and an honest report."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from shared.audit import AuditRecord, EventType
from shared.models.console import PlatformSetting
from shared.runtime import Runtime
from tests.otp_delivery.sinks import HttpSink, SmtpSink
from tests.otp_delivery.support import (
    API_KEY,
    carrier_settings,
    configure,
    delivery_row,
    email_settings,
    fast2sms_settings,
    generic_api_settings,
)


def send_test_sms(admin: TestClient, mobile: str = "+14155550100", **extra: str) -> dict:
    response = admin.post("/otp/test-sms", json={"mobile_number": mobile, **extra})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_test_sms_through_generic_api_reports_success(
    otp_admin: TestClient, runtime: Runtime, http_sink: HttpSink, admin_user: object
) -> None:
    configure(otp_admin, generic_api_settings(http_sink))
    result = send_test_sms(otp_admin, "(415) 555-0100")

    assert result["ok"] is True
    assert (result["provider"], result["provider_status"], result["error"]) == (
        "generic_api",
        "200",
        None,
    )
    assert result["destination"] == "+1******0100"
    [request] = http_sink.requests
    assert request.json()["to"] == "+14155550100"
    assert "test code" in request.json()["text"]
    row = delivery_row(runtime, uuid.UUID(result["delivery_id"]))
    assert (row.purpose, row.status) == ("test", "sent")
    records = [
        AuditRecord.from_stream(f) for _, f in runtime.redis.xrange(runtime.keys.audit_stream)
    ]
    [sent] = [r for r in records if r.type is EventType.OTP_SENT]
    assert sent.actor_type == "admin" and sent.details["destination"] == "+1******0100"


def test_test_sms_through_fast2sms_otp_route(otp_admin: TestClient, http_sink: HttpSink) -> None:
    configure(otp_admin, fast2sms_settings(http_sink, route="otp"))
    assert send_test_sms(otp_admin, "+91 98123 45678")["ok"] is True

    [request] = http_sink.requests
    assert request.path == "/dev/bulkV2"
    assert request.headers["authorization"] == API_KEY
    body = request.json()
    assert set(body) == {"route", "variables_values", "numbers"}
    assert (body["route"], body["numbers"]) == ("otp", "9812345678")
    assert body["variables_values"].isdigit() and len(body["variables_values"]) == 6


def test_fast2sms_refuses_numbers_outside_india_without_calling(
    otp_admin: TestClient, http_sink: HttpSink
) -> None:
    configure(otp_admin, fast2sms_settings(http_sink))
    result = send_test_sms(otp_admin, "+14155550100")
    assert result["ok"] is False
    assert "+91" in result["error"]
    assert http_sink.requests == []


def test_test_sms_by_carrier_gateway(otp_admin: TestClient, smtp_sink: SmtpSink) -> None:
    configure(otp_admin, carrier_settings(smtp_sink))
    assert send_test_sms(otp_admin, "+14155550100", mobile_carrier="AT&T")["ok"] is True
    assert [rcpts for rcpts, _ in smtp_sink.messages] == [["4155550100@txt.att.net"]]

    no_gateway = send_test_sms(otp_admin, "+14155550100")  # unknown carrier, no default
    assert no_gateway["ok"] is False and "gateway" in no_gateway["error"]


def test_test_email_arrives_with_the_branding_name(
    otp_admin: TestClient, runtime: Runtime, smtp_sink: SmtpSink
) -> None:
    with runtime.session_factory() as session:
        session.add(PlatformSetting(key="branding", value={"name": "Acme Login"}))
        session.commit()
    configure(otp_admin, email_settings(smtp_sink))

    response = otp_admin.post("/otp/test-email", json={"email": "Ada@Example.com"})
    assert response.json()["ok"] is True
    [(recipients, message)] = smtp_sink.messages
    assert recipients == ["ada@example.com"]
    assert message["Subject"] == "Your Acme Login test code"


def test_provider_refusal_is_reported_not_retried(
    otp_admin: TestClient, http_sink: HttpSink
) -> None:
    configure(otp_admin, generic_api_settings(http_sink))
    for status in (401, 500, 302):
        http_sink.answer(status)
        result = send_test_sms(otp_admin)
        assert (result["ok"], result["provider_status"]) == (False, str(status))
    assert len(http_sink.requests) == 3  # one each: no retries, the redirect not followed


def test_unconfigured_channel_is_a_conflict(otp_admin: TestClient, http_sink: HttpSink) -> None:
    configure(otp_admin, generic_api_settings(http_sink))
    response = otp_admin.post("/otp/test-email", json={"email": "ada@example.com"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "provider_not_configured"


def test_bad_destinations_are_422(otp_admin: TestClient, http_sink: HttpSink) -> None:
    configure(otp_admin, generic_api_settings(http_sink))
    for path, body in (
        ("/otp/test-sms", {"mobile_number": "12"}),
        ("/otp/test-sms", {"mobile_number": "not a number"}),
        ("/otp/test-email", {"email": "nobody"}),
        ("/otp/test-sms", {"mobile_number": "+14155550100", "extra": 1}),
    ):
        response = otp_admin.post(path, json=body)
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "validation_error"
    assert http_sink.requests == []
    assert otp_admin.get("/otp/deliveries").json()["total"] == 0
