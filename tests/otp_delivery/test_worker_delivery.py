"""A real worker process delivers queued OTPs through each provider to local sinks."""

from __future__ import annotations

from fastapi.testclient import TestClient

from shared.otp_contract import Channel
from shared.runtime import Runtime
from tests.otp_delivery.sinks import HttpSink, SmtpSink, wait_until
from tests.otp_delivery.support import (
    API_KEY,
    carrier_settings,
    configure,
    email_settings,
    enqueue,
    fast2sms_settings,
    final_row,
    generic_api_settings,
)
from tests.otp_delivery.workers import Workers


def test_generic_api_delivery_has_the_configured_shape(
    otp_admin: TestClient, runtime: Runtime, http_sink: HttpSink, workers: Workers
) -> None:
    configure(otp_admin, generic_api_settings(http_sink))
    workers.start()
    task, code = enqueue(runtime, "+14155550100")

    row = wait_until(lambda: final_row(runtime, task.delivery_id), what="delivery")
    assert (row.status, row.attempts, row.provider, row.provider_status) == (
        "sent",
        1,
        "generic_api",
        "200",
    )
    [request] = http_sink.requests
    assert (request.method, request.path) == ("POST", "/sms/send")
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["X-Client"] == "identity-tests"
    assert request.headers["Content-Type"] == "application/json"
    body = request.json()
    assert body["to"] == "+14155550100"
    assert body["otp"] == code
    assert body["text"].startswith(f"{code} is your Identity Services sign-in code")


def test_fast2sms_delivery_imitates_bulkv2(
    otp_admin: TestClient, runtime: Runtime, http_sink: HttpSink, workers: Workers
) -> None:
    configure(otp_admin, fast2sms_settings(http_sink))
    workers.start()
    task, code = enqueue(runtime, "+919812345678")

    row = wait_until(lambda: final_row(runtime, task.delivery_id), what="delivery")
    assert (row.status, row.provider) == ("sent", "fast2sms")
    [request] = http_sink.requests
    assert (request.method, request.path) == ("POST", "/dev/bulkV2")
    assert request.headers["authorization"] == API_KEY
    body = request.json()
    assert body["route"] == "q"
    assert body["numbers"] == "9812345678"
    assert code in body["message"]


def test_carrier_email_to_sms_arrives_at_number_at_gateway(
    otp_admin: TestClient, runtime: Runtime, smtp_sink: SmtpSink, workers: Workers
) -> None:
    configure(otp_admin, carrier_settings(smtp_sink, default_gateway="sms.gateway.example"))
    workers.start()
    known, code = enqueue(runtime, "+14155550100", carrier="Verizon")
    unknown, _ = enqueue(runtime, "+14155550101")

    wait_until(lambda: final_row(runtime, unknown.delivery_id), what="second delivery")
    assert final_row(runtime, known.delivery_id).status == "sent"
    recipients = sorted(rcpt for rcpts, _ in smtp_sink.messages for rcpt in rcpts)
    assert recipients == ["4155550100@vtext.com", "4155550101@sms.gateway.example"]
    texts = [m.get_payload(decode=True).decode() for _, m in smtp_sink.messages]
    assert any(code in text for text in texts)
    assert all(m["Subject"] is None for _, m in smtp_sink.messages)


def test_email_otp_is_sent_over_smtp(
    otp_admin: TestClient, runtime: Runtime, smtp_sink: SmtpSink, workers: Workers
) -> None:
    configure(otp_admin, email_settings(smtp_sink))
    workers.start()
    task, code = enqueue(runtime, "ada@example.com", channel=Channel.EMAIL)

    row = wait_until(lambda: final_row(runtime, task.delivery_id), what="delivery")
    assert (row.status, row.channel, row.destination_masked) == (
        "sent",
        "email",
        "a***a@example.com",
    )
    [(recipients, message)] = smtp_sink.messages
    assert recipients == ["ada@example.com"]
    assert message["From"] == "Identity <otp@identity.example.com>"
    assert message["Subject"] == "Your Identity Services sign-in code"
    assert code in message.get_payload(decode=True).decode()


def test_two_workers_side_by_side_send_each_code_once(
    otp_admin: TestClient, runtime: Runtime, http_sink: HttpSink, workers: Workers
) -> None:
    configure(otp_admin, generic_api_settings(http_sink))
    workers.start(pool="prefork", concurrency=2)  # the production pool
    workers.start()
    tasks = [enqueue(runtime, f"+1415555{n:04d}")[0] for n in range(30)]

    wait_until(lambda: all(final_row(runtime, t.delivery_id) for t in tasks), what="all deliveries")
    destinations = sorted(r.json()["to"] for r in http_sink.requests)
    assert destinations == sorted(t.destination for t in tasks)
