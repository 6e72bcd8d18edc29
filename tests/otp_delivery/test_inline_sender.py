"""The embedded dev mode delivers in-process, with the worker's own rules."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from otp_delivery.app import create_app
from otp_delivery.delivery import DeliveryRunner, Outcome
from otp_delivery.inline import InlineOtpSender
from shared.models.base import utcnow
from shared.otp_contract import Channel, OtpDeliveryTask, Purpose
from shared.runtime import Runtime
from shared.settings import Environment, Settings
from tests.otp_delivery.sinks import HttpSink, wait_until
from tests.otp_delivery.support import configure, delivery_row, final_row, generic_api_settings


def task_for(runtime: Runtime, code: str = "424242", expires_in: float = 300) -> OtpDeliveryTask:
    now = utcnow()
    return OtpDeliveryTask(
        channel=Channel.SMS,
        purpose=Purpose.LOGIN,
        destination="+14155550100",
        secret_encrypted=runtime.box.encrypt(code),
        requested_at=now,
        expires_at=now + timedelta(seconds=expires_in),
    )


@pytest.fixture
def dev_runtime(settings: Settings) -> Iterator[Runtime]:
    """The embedded mode's runtime: dev, with the in-process Redis stand-in."""
    dev = settings.model_copy(
        update={
            "env": Environment.DEV,
            "redis_url": f"memory://otp-{uuid.uuid4().hex}",
            "otp_allow_private_hosts": True,
        }
    )
    runtime = Runtime(dev)
    yield runtime
    runtime.close()


def test_dev_mode_delivers_inline_and_logs_the_code(
    otp_admin: TestClient,
    dev_runtime: Runtime,
    http_sink: HttpSink,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure(otp_admin, generic_api_settings(http_sink))
    create_app(dev_runtime)
    assert isinstance(dev_runtime.otp_sender, InlineOtpSender)

    task = task_for(dev_runtime, code="135790")
    dev_runtime.send_otp(task)

    wait_until(lambda: http_sink.requests, what="the inline delivery")
    assert http_sink.requests[0].json()["otp"] == "135790"
    row = wait_until(lambda: final_row(dev_runtime, task.delivery_id), what="the row")
    assert row.status == "sent"
    assert "135790" in capsys.readouterr().out
    # The thread's last step is its audit event; let it finish before the cleanup.
    wait_until(lambda: "otp.sent" in str(dev_runtime.redis.xrange(dev_runtime.keys.audit_stream)))


def test_inline_retries_like_the_worker(
    otp_admin: TestClient, runtime: Runtime, http_sink: HttpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime.settings, "otp_retry_backoff_seconds", 0.01)
    configure(otp_admin, generic_api_settings(http_sink))
    http_sink.answer(503, 500)
    task = task_for(runtime)

    assert InlineOtpSender(runtime).deliver(task) is Outcome.SENT
    row = delivery_row(runtime, task.delivery_id)
    assert (row.status, row.attempts) == ("sent", 3)


def test_a_stale_code_is_dropped_by_the_worker_side_check(
    otp_admin: TestClient, runtime: Runtime, http_sink: HttpSink
) -> None:
    configure(otp_admin, generic_api_settings(http_sink))
    task = task_for(runtime, expires_in=-1)

    assert DeliveryRunner(runtime).attempt(task).outcome is Outcome.EXPIRED
    assert http_sink.requests == []
    assert delivery_row(runtime, task.delivery_id).status == "expired"


def test_switched_off_channel_fails_without_sending(
    otp_admin: TestClient, runtime: Runtime, http_sink: HttpSink
) -> None:
    body = generic_api_settings(http_sink)
    body["sms"]["is_enabled"] = False
    configure(otp_admin, body)
    task = task_for(runtime)

    result = DeliveryRunner(runtime).attempt(task)
    assert (result.outcome, result.error) == (Outcome.FAILED, "sms delivery is switched off")
    assert http_sink.requests == []
    assert delivery_row(runtime, task.delivery_id).status == "failed"
