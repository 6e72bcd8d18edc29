"""Transient provider failures are retried with backoff; permanent ones are not; nothing twice."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from shared.runtime import Runtime
from tests.otp_delivery.sinks import HttpSink, wait_until
from tests.otp_delivery.support import (
    API_KEY,
    celery_backlog,
    configure,
    enqueue,
    final_row,
    generic_api_settings,
)
from tests.otp_delivery.workers import Workers


def runs_finished(workers: Workers, delivery_id: uuid.UUID) -> int:
    return workers.logs().count(f"otp_delivery.deliver[{delivery_id}] succeeded")


def test_500_twice_then_200_is_delivered_once_after_three_attempts(
    otp_admin: TestClient, runtime: Runtime, http_sink: HttpSink, workers: Workers
) -> None:
    configure(otp_admin, generic_api_settings(http_sink))
    http_sink.answer(500, 500)
    workers.start()
    task, code = enqueue(runtime, "+14155550100")

    row = wait_until(lambda: final_row(runtime, task.delivery_id), what="delivery")
    assert (row.status, row.attempts, row.provider_status, row.error) == ("sent", 3, "200", None)
    assert [r.json()["otp"] for r in http_sink.requests] == [code, code, code]
    wait_until(lambda: celery_backlog(runtime) == 0, what="the queue to drain")
    assert len(http_sink.requests) == 3  # two refused, one accepted: delivered once


def test_401_fails_at_once_and_shows_in_the_log(
    otp_admin: TestClient, runtime: Runtime, http_sink: HttpSink, workers: Workers
) -> None:
    configure(otp_admin, generic_api_settings(http_sink))
    http_sink.default_status = 401
    workers.start()
    task, _ = enqueue(runtime, "+14155550100")

    row = wait_until(lambda: final_row(runtime, task.delivery_id), what="delivery")
    assert (row.status, row.attempts, row.provider_status) == ("failed", 1, "401")
    enqueue(runtime, "+14155550100", delivery_id=task.delivery_id)  # redelivered anyway
    wait_until(lambda: runs_finished(workers, task.delivery_id) == 2, what="the second run")
    assert len(http_sink.requests) == 1

    page = otp_admin.get("/otp/deliveries", params={"status": "failed"}).json()
    assert page["total"] == 1
    [item] = page["items"]
    assert item["id"] == str(task.delivery_id)
    assert (item["attempts"], item["provider_status"]) == (1, "401")
    assert item["destination"] == "+1******0100"
    assert "HTTP 401" in item["error"]


def test_a_redelivered_task_never_sends_twice(
    otp_admin: TestClient, runtime: Runtime, http_sink: HttpSink, workers: Workers
) -> None:
    configure(otp_admin, generic_api_settings(http_sink))
    workers.start()
    task, _ = enqueue(runtime, "+14155550100")
    wait_until(lambda: final_row(runtime, task.delivery_id), what="delivery")

    # The broker hands the same delivery out again (as after a lost ack).
    enqueue(runtime, "+14155550100", delivery_id=task.delivery_id)
    wait_until(lambda: runs_finished(workers, task.delivery_id) == 2, what="the second run")

    assert len(http_sink.requests) == 1
    assert final_row(runtime, task.delivery_id).attempts == 1


def test_secrets_and_codes_stay_out_of_worker_logs_and_the_log_table(
    otp_admin: TestClient, runtime: Runtime, http_sink: HttpSink, workers: Workers
) -> None:
    # A GET API: the code travels in the URL, which httpx would log at INFO.
    url = http_sink.url + "/send?to={mobile}&text={message}"
    configure(otp_admin, generic_api_settings(http_sink, method="GET", url=url, body_template=""))
    http_sink.answer(500)
    workers.start()
    task, code = enqueue(runtime, "+14155550100")
    row = wait_until(lambda: final_row(runtime, task.delivery_id), what="delivery")
    assert row.status == "sent"
    assert http_sink.requests[-1].path.startswith("/send?to=%2B14155550100&text=" + code)

    logs = wait_until(lambda: "otp_sent" in workers.logs() and workers.logs(), what="logs")
    assert "otp_retryable_failure" in logs
    assert API_KEY not in logs
    assert code not in logs
    assert "+14155550100" not in logs
    stored = " ".join(str(getattr(row, c.key)) for c in row.__table__.columns)
    assert code not in stored
