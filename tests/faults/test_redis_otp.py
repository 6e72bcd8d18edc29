"""A one-time code asked for across a Redis restart: refused while it is down, then sent once.

The Celery worker killed mid-send is tests/otp_delivery/test_worker_crash.py;
this is the producer side: no code is handed to delivery for a request that
was answered 503, and none twice.
"""

from __future__ import annotations

from typing import Any

from shared.runtime import Runtime
from tests.auth.support import AppCaller, Outbox
from tests.faults.support import PrivateRedis, is_unavailable, wait_until


def test_an_otp_request_during_the_outage_sends_nothing_and_one_after_sends_once(
    private_redis: PrivateRedis,
    redis_runtime: Runtime,
    redis_caller: AppCaller,
    redis_member: dict[str, Any],
) -> None:
    caller, outbox = redis_caller, redis_runtime.otp_sender
    assert isinstance(outbox, Outbox)

    private_redis.kill()
    refused = caller.post("/auth/otp/request", {"login": redis_member["mobile_number"]})
    assert is_unavailable(refused), refused.text
    assert outbox.tasks == []

    private_redis.start()

    def request_code() -> Any:
        response = caller.post("/auth/otp/request", {"login": redis_member["mobile_number"]})
        return response if response.status_code == 202 else None

    challenge = wait_until(request_code, what="an OTP request to be accepted").json()
    (task,) = outbox.tasks
    assert task.destination == redis_member["mobile_number"]

    verified = caller.post(
        "/auth/otp/verify",
        {"otp_request_id": challenge["otp_request_id"], "code": outbox.secret()},
    )
    assert verified.status_code == 200, verified.text
    assert caller.session(verified.json()["access_token"]).status_code == 200
    assert len(outbox.tasks) == 1
