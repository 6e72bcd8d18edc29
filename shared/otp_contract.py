"""The OTP delivery task: what the auth service enqueues and the otp-delivery worker runs.

Task name `OTP_TASK_NAME` on queue `OTP_QUEUE` (Celery on the Redis broker).
The secret part of the message (a code or a recovery token) travels
encrypted with the deployment's SecretBox, so the broker never holds it in
clear; only the worker decrypts it, right before sending.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from shared.models.base import new_id, utcnow

OTP_TASK_NAME = "otp_delivery.deliver"
OTP_QUEUE = "otp"


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"


class Purpose(StrEnum):
    LOGIN = "login"  # a sign-in code
    MFA = "mfa"  # the second factor after a password
    PASSWORD_RESET = "password_reset"  # a recovery code (SMS) or link (email)
    TEST = "test"  # the console's Test SMS / test email


class OtpDeliveryTask(BaseModel):
    delivery_id: uuid.UUID = Field(default_factory=new_id)
    channel: Channel
    purpose: Purpose
    destination: str  # E.164 mobile number or email address
    mobile_carrier: str | None = None  # for US carrier email-to-SMS gateways
    secret_encrypted: str | None = None  # SecretBox(code or link); None for tests
    expires_at: datetime  # never deliver after this
    requested_at: datetime = Field(default_factory=utcnow)  # the delivery log's queued_at
    user_id: str | None = None
    application_id: str | None = None
