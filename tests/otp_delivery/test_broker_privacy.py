"""What the broker, its dumps and task monitors see of an OTP delivery: ids, never the person.

Read as an operator (or anyone with read access to Redis) would: the raw
message on the queue's list and the events a worker sends to monitors.
"""

from __future__ import annotations

import base64
import contextlib
import threading
from typing import Any

import orjson
from celery import Celery
from fastapi.testclient import TestClient

from shared.otp_contract import Channel
from shared.otp_sender import celery_broker_options
from shared.runtime import Runtime
from tests.otp_delivery.sinks import HttpSink, wait_until
from tests.otp_delivery.support import configure, enqueue, final_row, generic_api_settings
from tests.otp_delivery.workers import Workers

MOBILE = "+14155550177"
EMAIL = "grace.hopper@example.com"


def _personal(text: str, code: str) -> list[str]:
    """Every form of the destination or the code that appears in `text`."""
    forms = [MOBILE, MOBILE.lstrip("+"), MOBILE[2:], EMAIL, EMAIL.split("@")[0], code]
    return [form for form in forms if form in text]


def test_the_raw_queued_message_holds_no_destination_or_code(runtime: Runtime) -> None:
    sms, sms_code = enqueue(runtime, MOBILE, carrier="Verizon")
    email, email_code = enqueue(runtime, EMAIL, channel=Channel.EMAIL)
    queue = f"{runtime.settings.redis_prefix}celery:otp"
    raw = [str(entry) for entry in reversed(runtime.redis.lrange(queue, 0, -1))]  # LPUSHed
    assert len(raw) == 2
    for text, task, code in zip(raw, (sms, email), (sms_code, email_code), strict=True):
        message = orjson.loads(text)
        body = base64.b64decode(message["body"]).decode()
        headers = orjson.dumps(message["headers"]).decode()
        assert _personal(text + body, code) == []
        assert "Verizon" not in text + body
        assert message["headers"]["kwargsrepr"] == repr({"delivery_id": str(task.delivery_id)})
        assert message["headers"]["argsrepr"] == "()"
        assert str(task.delivery_id) in headers
        # What the body still carries, in clear, and why: the worker needs these.
        (_, kwargs, _) = orjson.loads(body)
        assert set(kwargs["payload"]) == {
            "delivery_id",  # the log row and the exactly-once markers
            "channel",  # which provider settings to load
            "purpose",  # the message template
            "expires_at",  # never sent after it
            "requested_at",  # the log's queued_at
            "user_id",  # the audit event's subject
            "application_id",  # and its application
            "secret_encrypted",  # the code, sealed
            "sealed",  # the destination (and carrier), sealed
        }


def test_worker_events_and_logs_hold_no_destination_or_code(
    otp_admin: TestClient, runtime: Runtime, http_sink: HttpSink, workers: Workers
) -> None:
    configure(otp_admin, generic_api_settings(http_sink))
    monitor = Celery("monitor", broker=runtime.settings.redis_url)
    monitor.conf.broker_transport_options = celery_broker_options(runtime.settings)
    events: list[dict[str, Any]] = []
    listening, done = threading.Event(), threading.Event()

    def listen() -> None:
        with monitor.connection() as connection:
            receiver = monitor.events.Receiver(connection, handlers={"*": events.append})
            listening.set()
            while not done.is_set():
                with contextlib.suppress(TimeoutError):
                    receiver.capture(limit=None, timeout=0.5, wakeup=False)

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert listening.wait(5)
    try:
        _deliver_and_check(runtime, http_sink, workers, events)
    finally:
        done.set()
        listener.join(5)


def _deliver_and_check(
    runtime: Runtime, http_sink: HttpSink, workers: Workers, events: list[dict[str, Any]]
) -> None:
    workers.start(events=True)
    task, code = enqueue(runtime, MOBILE)

    row = wait_until(lambda: final_row(runtime, task.delivery_id), what="delivery")
    assert row.status == "sent"
    [request] = http_sink.requests
    assert request.json()["to"] == MOBILE  # it did reach the provider
    wait_until(
        lambda: any(e["type"] == "task-succeeded" for e in events) or None,
        what="the task-succeeded event",
    )
    mine = [e for e in events if e.get("uuid") == str(task.delivery_id)]
    assert {"task-received", "task-started", "task-succeeded"} <= {e["type"] for e in mine}
    received = next(e for e in mine if e["type"] == "task-received")
    assert received["kwargs"] == repr({"delivery_id": str(task.delivery_id)})
    assert received["args"] == "()"
    assert _personal(orjson.dumps(mine).decode(), code) == []
    assert _personal(workers.logs(), code) == []
