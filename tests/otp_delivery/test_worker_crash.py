"""A worker killed mid-send; codes that expire while no worker runs, or are revoked."""

from __future__ import annotations

import time
import uuid

from celery import Celery
from fastapi.testclient import TestClient

from shared.models.base import utcnow
from shared.otp_contract import Channel
from shared.otp_sender import celery_broker_options
from shared.runtime import Runtime
from tests.otp_delivery.sinks import HttpSink, SmtpSink, wait_until
from tests.otp_delivery.support import (
    celery_backlog,
    configure,
    delivery_row,
    email_settings,
    enqueue,
    final_row,
    generic_api_settings,
)
from tests.otp_delivery.workers import Workers


def test_sigkill_mid_send_then_restart_delivers_exactly_once(
    otp_admin: TestClient, runtime: Runtime, smtp_sink: SmtpSink, workers: Workers
) -> None:
    configure(otp_admin, email_settings(smtp_sink))
    smtp_sink.stall_next_rcpt.set()
    first = workers.start()
    task, code = enqueue(runtime, "ada@example.com", channel=Channel.EMAIL)

    # The worker is inside the SMTP conversation; the message is not accepted yet.
    wait_until(smtp_sink.stalled.is_set, what="the worker to reach RCPT")
    workers.kill(first)
    assert smtp_sink.messages == []
    assert delivery_row(runtime, task.delivery_id).status == "queued"

    workers.start()
    row = wait_until(lambda: final_row(runtime, task.delivery_id), what="redelivery")
    assert (row.status, row.attempts) == ("sent", 2)
    wait_until(lambda: celery_backlog(runtime) == 0, what="the queue to drain")
    [(recipients, message)] = smtp_sink.messages
    assert recipients == ["ada@example.com"]
    assert code in message.get_payload(decode=True).decode()


def test_code_that_expires_while_no_worker_runs_is_never_sent(
    otp_admin: TestClient, runtime: Runtime, http_sink: HttpSink, workers: Workers
) -> None:
    configure(otp_admin, generic_api_settings(http_sink))
    task, _ = enqueue(runtime, "+14155550100", expires_in=1)
    fresh, _ = enqueue(runtime, "+14155550101")
    while utcnow() <= task.expires_at:
        time.sleep(0.1)

    workers.start()
    wait_until(lambda: final_row(runtime, fresh.delivery_id), what="the fresh delivery")
    wait_until(lambda: celery_backlog(runtime) == 0, what="the queue to drain")

    row = wait_until(lambda: final_row(runtime, task.delivery_id), what="the expired row")
    assert (row.status, row.attempts) == ("expired", 0)
    assert [r.json()["to"] for r in http_sink.requests] == ["+14155550101"]
    page = otp_admin.get("/otp/deliveries", params={"status": "expired"}).json()
    assert [item["id"] for item in page["items"]] == [str(task.delivery_id)]


def test_a_revoked_delivery_is_dropped_and_logged(
    otp_admin: TestClient, runtime: Runtime, http_sink: HttpSink, workers: Workers
) -> None:
    configure(otp_admin, generic_api_settings(http_sink))
    control = Celery("test-control", broker=runtime.settings.redis_url)
    control.conf.broker_transport_options = celery_broker_options(runtime.settings)
    workers.start()
    wait_until(lambda: control.control.ping(timeout=0.5), what="the worker to answer")
    delivery_id = uuid.uuid4()

    control.control.revoke(str(delivery_id))  # an operator cancels it
    enqueue(runtime, "+14155550100", delivery_id=delivery_id)

    row = wait_until(lambda: final_row(runtime, delivery_id), what="the revoked row")
    assert (row.status, row.attempts, row.error) == ("failed", 0, "revoked before it was sent")
    assert http_sink.requests == []
    control.close()
