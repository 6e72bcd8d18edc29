"""The console's Test SMS and test email: one real send through the configured provider, now."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy.orm import Session

from otp_delivery.delivery import DeliveryRunner, Outcome
from otp_delivery.provider_settings.repository import load_channel
from otp_delivery.provider_settings.schemas import SendCheckOut
from shared.admin_auth import AdminIdentity
from shared.admin_trail import record_admin_action
from shared.audit import EventType
from shared.audit import Outcome as AuditOutcome
from shared.contact import mask_destination
from shared.errors import Conflict
from shared.models.base import utcnow
from shared.otp_contract import Channel, OtpDeliveryTask, Purpose
from shared.runtime import Runtime


class ProviderNotConfigured(Conflict):
    code = "provider_not_configured"


def send_test(
    db: Session,
    runtime: Runtime,
    admin: AdminIdentity,
    channel: Channel,
    destination: str,
    mobile_carrier: str | None = None,
) -> SendCheckOut:
    """A single attempt, no retries: the answer must come back while the admin waits."""
    if load_channel(db, runtime.box, channel.value) is None:
        raise ProviderNotConfigured(f"{channel.value} delivery is not configured yet.")
    code = f"{secrets.randbelow(10**6):06d}"  # a sample; it signs nobody in
    now = utcnow()
    task = OtpDeliveryTask(
        channel=channel,
        purpose=Purpose.TEST,
        destination=destination,
        mobile_carrier=mobile_carrier,
        secret_encrypted=runtime.box.encrypt(code),
        requested_at=now,
        expires_at=now + timedelta(minutes=5),
    )
    runner = DeliveryRunner(runtime)
    result = runner.attempt(task)
    if result.outcome is Outcome.RETRY:
        runner.fail(
            task, result.provider, result.error or "", result.provider_status, result.attempts
        )
    ok = result.outcome is Outcome.SENT
    out = SendCheckOut(
        ok=ok,
        provider=result.provider,
        destination=mask_destination(destination),
        provider_status=result.provider_status,
        error=result.error,
        delivery_id=str(task.delivery_id),
    )
    record_admin_action(
        db,
        runtime,
        admin,
        EventType.OTP_SENT if ok else EventType.OTP_DELIVERY_FAILED,
        outcome=AuditOutcome.SUCCESS if ok else AuditOutcome.FAILURE,
        details={"channel": channel.value, **out.model_dump(exclude={"ok"})},
    )
    return out
