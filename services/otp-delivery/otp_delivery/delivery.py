"""One delivery attempt, shared by the Celery worker, the embedded dev mode and Test SMS.

Exactly-once toward the user, as far as a provider lets us: a Redis lock per
delivery id keeps two workers from sending the same message at once, and a
"sent" marker, written the moment the provider accepts, plus the delivery
log row's final status make every later redelivery of the task a no-op. A
code past its expiry is never sent.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from enum import StrEnum

import structlog
from redis import Redis
from redis.exceptions import RedisError, WatchError

from otp_delivery.audit_trail import record_delivery
from otp_delivery.deliveries.repository import DeliveryLog
from otp_delivery.messages import brand_name, compose
from otp_delivery.provider_settings.repository import ChannelSettings, load_channel
from otp_delivery.providers import build_provider
from otp_delivery.providers.base import (
    DeliveryError,
    OutboundPolicy,
    PermanentDeliveryError,
    SendResult,
)
from shared.audit import EventType
from shared.contact import mask_destination
from shared.models.base import utcnow
from shared.otp_contract import OtpDeliveryTask, Purpose
from shared.runtime import Runtime
from shared.settings import Settings

log = structlog.get_logger("otp_delivery")


class Outcome(StrEnum):
    SENT = "sent"
    DUPLICATE = "duplicate"  # already sent by an earlier run of the same task
    EXPIRED = "expired"
    FAILED = "failed"  # permanent: no retry
    RETRY = "retry"  # transient: try again after a backoff
    BUSY = "busy"  # another worker holds this delivery right now


@dataclass(frozen=True)
class AttemptResult:
    outcome: Outcome
    provider: str = "-"
    attempts: int = 0
    provider_status: str | None = None
    error: str | None = None


def _release(client: Redis, key: str, token: str) -> None:
    """Delete the lock only if it is still ours (it may have run out and been retaken)."""
    with client.pipeline() as pipe:
        try:
            pipe.watch(key)
            if pipe.get(key) == token:
                pipe.multi()
                pipe.delete(key)
                pipe.execute()
        except WatchError:
            pass  # changed under us: no longer ours to delete


def outbound_policy(settings: Settings) -> OutboundPolicy:
    return OutboundPolicy(
        allow_private_hosts=settings.otp_allow_private_hosts,
        http_timeout=settings.otp_http_timeout_seconds,
        smtp_timeout=settings.otp_smtp_timeout_seconds,
        ehlo_name=settings.public_hostname,
    )


def backoff_seconds(settings: Settings, attempts: int) -> float:
    """Exponential backoff with jitter, so retries of many deliveries do not arrive together."""
    ceiling = min(
        settings.otp_retry_backoff_max_seconds,
        settings.otp_retry_backoff_seconds * 2 ** max(attempts - 1, 0),
    )
    return ceiling / 2 + random.uniform(0, ceiling / 2)


class DeliveryRunner:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.log = DeliveryLog(runtime.session_factory)
        self.policy = outbound_policy(runtime.settings)

    def _key(self, task: OtpDeliveryTask, what: str) -> str:
        return self.runtime.keys("otp", "delivery", str(task.delivery_id), what)

    def lock_wait_seconds(self, task: OtpDeliveryTask) -> float:
        """How long until the lock another worker holds on this delivery runs out."""
        remaining_ms = int(self.runtime.redis.pttl(self._key(task, "lock")))
        return max(remaining_ms, 0) / 1000 + 0.5

    def already_sent(self, task: OtpDeliveryTask) -> bool:
        return bool(self.runtime.redis.exists(self._key(task, "sent")))

    def attempt(self, task: OtpDeliveryTask) -> AttemptResult:
        if self.already_sent(task):
            self.log.mark_sent(task.delivery_id, None)  # repairs a row a crash left queued
            return AttemptResult(Outcome.DUPLICATE)
        if utcnow() >= task.expires_at:
            self.expire(task)
            return AttemptResult(Outcome.EXPIRED)
        redis, lock_key = self.runtime.redis, self._key(task, "lock")
        token = secrets.token_hex(8)
        lock_ms = self.runtime.settings.otp_task_time_limit_seconds * 1000
        if not redis.set(lock_key, token, nx=True, px=lock_ms):
            return AttemptResult(Outcome.BUSY)
        try:
            if self.already_sent(task):  # the previous holder finished meanwhile
                return AttemptResult(Outcome.DUPLICATE)
            return self._send(task)
        finally:
            _release(redis, lock_key, token)

    def _send(self, task: OtpDeliveryTask) -> AttemptResult:
        with self.runtime.session_factory() as session:
            settings = load_channel(session, self.runtime.box, task.channel.value)
            brand = brand_name(session)
        provider_name = settings.provider if settings else "-"
        attempts = self.log.start_attempt(task, provider_name)
        if attempts is None:  # the log says sent/failed/expired: a redelivery, nothing to do
            return AttemptResult(Outcome.DUPLICATE, provider_name)
        try:
            result = self._provider_send(task, settings, brand)
        except DeliveryError as exc:
            if exc.transient:
                self.log.note_error(task.delivery_id, str(exc), exc.provider_status)
                log.warning(
                    "otp_retryable_failure", **self._describe(task, attempts), error=str(exc)
                )
                return AttemptResult(
                    Outcome.RETRY, provider_name, attempts, exc.provider_status, str(exc)
                )
            self.fail(task, provider_name, str(exc), exc.provider_status, attempts)
            return AttemptResult(
                Outcome.FAILED, provider_name, attempts, exc.provider_status, str(exc)
            )
        # Two records of "sent", each enough to stop a redelivery: if the row update is
        # lost, the marker repairs it on the next run; if Redis fails, the row still holds.
        ttl = max(int((task.expires_at - utcnow()).total_seconds()), 0) + 86400
        try:
            self.runtime.redis.set(self._key(task, "sent"), "1", ex=ttl)
        except RedisError as exc:
            log.error("otp_sent_marker_failed", delivery_id=str(task.delivery_id), error=str(exc))
        self.log.mark_sent(task.delivery_id, result.provider_status)
        log.info("otp_sent", **self._describe(task, attempts), provider=provider_name)
        self._audit(task, EventType.OTP_SENT, provider_name, attempts, None)
        return AttemptResult(Outcome.SENT, provider_name, attempts, result.provider_status)

    def _provider_send(
        self, task: OtpDeliveryTask, settings: ChannelSettings | None, brand: str
    ) -> SendResult:
        if settings is None:
            raise PermanentDeliveryError(f"{task.channel.value} delivery is not configured")
        if not settings.is_enabled and task.purpose is not Purpose.TEST:
            raise PermanentDeliveryError(f"{task.channel.value} delivery is switched off")
        try:
            secret = (
                self.runtime.box.decrypt(task.secret_encrypted) if task.secret_encrypted else ""
            )
        except ValueError as exc:
            raise PermanentDeliveryError(
                "the code cannot be decrypted (secret key changed?)"
            ) from exc
        message = compose(task, secret or "000000", brand, settings.template, settings.subject)
        provider = build_provider(
            task.channel.value, settings.provider, settings.provider_config(), self.policy
        )
        return provider.send(message)

    def fail(
        self,
        task: OtpDeliveryTask,
        provider: str,
        error: str,
        provider_status: str | None,
        attempts: int,
    ) -> None:
        if self.log.mark_failed(task, provider, error, provider_status):
            log.warning("otp_failed", **self._describe(task, attempts), error=error)
            self._audit(task, EventType.OTP_DELIVERY_FAILED, provider, attempts, error)

    def expire(self, task: OtpDeliveryTask) -> None:
        if self.log.mark_expired(task, "-"):
            log.warning("otp_expired_unsent", **self._describe(task, 0))
            self._audit(task, EventType.OTP_DELIVERY_FAILED, "-", 0, "expired before sending")

    def _describe(self, task: OtpDeliveryTask, attempts: int) -> dict[str, object]:
        return {
            "delivery_id": str(task.delivery_id),
            "channel": task.channel.value,
            "purpose": task.purpose.value,
            "destination": mask_destination(task.destination),
            "attempts": attempts,
        }

    def _audit(
        self,
        task: OtpDeliveryTask,
        event: EventType,
        provider: str,
        attempts: int,
        error: str | None,
    ) -> None:
        if task.purpose is Purpose.TEST:
            return  # the admin's test send is audited by the API with the admin as actor
        details: dict[str, object] = {**self._describe(task, attempts), "provider": provider}
        if error:
            details["error"] = error
        record_delivery(
            self.runtime,
            event,
            user_id=task.user_id,
            application_id=task.application_id,
            details=details,
        )
