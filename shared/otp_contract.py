"""The OTP delivery task: what the auth service enqueues and the otp-delivery worker runs.

Task name `OTP_TASK_NAME` on queue `OTP_QUEUE` (Celery on the Redis broker).
The secret part of the message (a code or a recovery token) travels
encrypted with the deployment's SecretBox, so the broker never holds it in
clear; only the worker decrypts it, right before sending. The destination
(and a US carrier's name) is sealed with the same box (`to_message`), and
Celery's copies of the arguments in the message headers, worker events and
monitors are replaced by the delivery id (`task_repr`): what the broker, its
dumps and `celery events` see is ids, channel, purpose and times, nothing
personal.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from pydantic import BaseModel, Field

from shared.models.base import new_id, utcnow
from shared.security.encryption import SecretBox

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


_SEALED = {"destination", "mobile_carrier"}


def to_message(task: OtpDeliveryTask, box: SecretBox) -> dict[str, Any]:
    """The task as it travels on the broker: the destination sealed, the rest as it is."""
    body = task.model_dump(mode="json", exclude=_SEALED)
    sealed = task.model_dump(mode="json", include=_SEALED)
    body["sealed"] = box.encrypt(orjson.dumps(sealed).decode())
    return body


def from_message(payload: dict[str, Any], box: SecretBox) -> OtpDeliveryTask:
    """The task back from a broker message; ValueError when the seal cannot be opened.

    A message queued before destinations were sealed carries it in clear and is
    read as it is.
    """
    fields = dict(payload)
    if "sealed" in fields:
        fields.update(orjson.loads(box.decrypt(str(fields.pop("sealed")))))
    return OtpDeliveryTask.model_validate(fields)


def task_repr(task: OtpDeliveryTask) -> str:
    """What Celery copies into headers, events and logs instead of the arguments."""
    return repr({"delivery_id": str(task.delivery_id)})
