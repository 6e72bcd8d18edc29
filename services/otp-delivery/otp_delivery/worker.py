"""The otp-delivery Celery worker: `celery -A otp_delivery.worker worker -Q otp`.

Reliability settings, and why:
- acks_late + reject_on_worker_lost: a message is acknowledged only after its
  task finished, so a worker killed mid-send leaves it to be handed out again;
- prefetch 1: a busy worker does not sit on messages an idle one could send;
- visibility timeout (settings) above the longest task plus the longest retry
  wait: Redis hands an unacknowledged message out again only after it, so a
  slow but alive worker is never doubled;
- the task's `expires` is the code's expiry: Celery drops a stale message
  without running it, and OtpRequest logs it as expired.
"""

from __future__ import annotations

import os
from typing import Any

import structlog
from celery import Celery, Task
from celery.exceptions import SoftTimeLimitExceeded
from celery.worker.request import Request
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from otp_delivery.delivery import DeliveryRunner, Outcome, backoff_seconds
from shared.logging import configure_logging
from shared.models.base import utcnow
from shared.otp_contract import OTP_QUEUE, OTP_TASK_NAME, OtpDeliveryTask, from_message
from shared.otp_sender import celery_broker_options
from shared.runtime import Runtime
from shared.settings import load_settings

PING_TASK_NAME = "otp_delivery.ping"
log = structlog.get_logger("otp_delivery")

settings = load_settings(service_name="otp-worker")
configure_logging("otp-worker", settings.log_level)

app = Celery("otp_delivery", broker=settings.redis_url)
app.conf.update(
    broker_transport_options=celery_broker_options(settings),
    broker_connection_retry_on_startup=True,
    task_default_queue=OTP_QUEUE,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    worker_concurrency=settings.otp_worker_concurrency,
    task_time_limit=settings.otp_task_time_limit_seconds,
    task_soft_time_limit=max(1, settings.otp_task_time_limit_seconds - 1),
    task_ignore_result=True,
    worker_hijack_root_logger=False,
    enable_utc=True,
)

_runtimes: dict[int, Runtime] = {}


def worker_runtime() -> Runtime:
    """One Runtime per process, made after the fork (connections do not survive forking)."""
    pid = os.getpid()
    if pid not in _runtimes:
        _runtimes[pid] = Runtime(settings)
    return _runtimes[pid]


class OtpRequest(Request):
    """Logs a message Celery drops unrun: expired (the worker was down or behind) or revoked."""

    def revoked(self) -> bool:
        if not super().revoked():
            return False
        payload = (self.kwargs or {}).get("payload")
        task = _task_of(payload) if payload else None
        if task is not None:
            runner = DeliveryRunner(worker_runtime())
            if utcnow() >= task.expires_at:
                runner.expire(task)
            else:  # `celery control revoke <delivery id>`
                runner.fail(task, "-", "revoked before it was sent", None, 0)
        return True


def _task_of(payload: dict[str, Any]) -> OtpDeliveryTask | None:
    try:
        return from_message(payload, worker_runtime().box)
    except ValueError:
        # Sealed under a secret key this worker does not have: nothing can be sent.
        log.error("otp_message_unreadable", delivery_id=str(payload.get("delivery_id")))
        return None


@app.task(name=OTP_TASK_NAME, bind=True, Request=OtpRequest, max_retries=None)
def deliver(self: Task, payload: dict[str, Any]) -> str:
    """Send one OTP message; retried with backoff on transient failures only."""
    task = _task_of(payload)
    if task is None:
        return Outcome.FAILED.value
    runner = DeliveryRunner(worker_runtime())
    try:
        result = runner.attempt(task)
    except (SQLAlchemyError, RedisError, SoftTimeLimitExceeded) as exc:
        # Our own storage (or the clock) failed us, not the provider: try again.
        if utcnow() >= task.expires_at:
            raise
        countdown = backoff_seconds(settings, self.request.retries + 1)
        raise self.retry(countdown=countdown, exc=exc) from exc
    if result.outcome is Outcome.BUSY:
        # Another worker is sending this very delivery; look again when its lock ends.
        raise self.retry(countdown=runner.lock_wait_seconds(task))
    if result.outcome is Outcome.RETRY:
        countdown = backoff_seconds(settings, result.attempts)
        out_of_attempts = result.attempts >= settings.otp_max_attempts
        too_late = (task.expires_at - utcnow()).total_seconds() <= countdown
        if out_of_attempts or too_late:
            why = "no attempts left" if out_of_attempts else "the code expires before another try"
            runner.fail(
                task,
                result.provider,
                f"gave up ({why}): {result.error}",
                result.provider_status,
                result.attempts,
            )
            return Outcome.FAILED.value
        raise self.retry(countdown=countdown)
    return result.outcome.value


@app.task(name=PING_TASK_NAME)
def ping(reply_to: str, token: str) -> None:
    """A no-op round trip for the benchmark: echo `token` on a Redis list under our prefix."""
    runtime = worker_runtime()
    runtime.redis.rpush(runtime.keys("bench", "pong", reply_to), token)
