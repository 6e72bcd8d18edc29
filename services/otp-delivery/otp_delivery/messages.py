"""The words a user receives: per-channel templates filled with the code and the branding name."""

from __future__ import annotations

import math

from sqlalchemy.orm import Session

from otp_delivery.providers.base import OutgoingMessage
from otp_delivery.providers.fields import render_message
from shared.otp_contract import OtpDeliveryTask, Purpose
from shared.platform import read_branding

DEFAULT_SMS_TEMPLATE = (
    "{code} is your {brand} {action} code. It expires in {minutes} min. Do not share it."
)
DEFAULT_EMAIL_SUBJECT = "Your {brand} {action} code"
DEFAULT_EMAIL_TEMPLATE = (
    "Your {brand} {action} code is:\n\n{code}\n\n"
    "It expires in {minutes} minutes. If you did not ask for it, ignore this message; "
    "nobody from {brand} will ever ask you for it."
)
ACTIONS = {
    Purpose.LOGIN: "sign-in",
    Purpose.MFA: "verification",
    Purpose.PASSWORD_RESET: "password reset",
    Purpose.TEST: "test",
}


def brand_name(session: Session) -> str:
    """The console's branding name (platform setting `branding`), else the product name."""
    return str(read_branding(session)["name"])


def compose(
    task: OtpDeliveryTask, secret: str, brand: str, template: str, subject: str = ""
) -> OutgoingMessage:
    lifetime = (task.expires_at - task.requested_at).total_seconds()
    values = {
        "code": secret,
        "brand": brand,
        "action": ACTIONS.get(task.purpose, "sign-in"),
        "minutes": str(max(1, math.ceil(lifetime / 60))),
    }
    return OutgoingMessage(
        destination=task.destination,
        text=render_message(template, values),
        secret=secret,
        subject=render_message(subject, values) if subject else "",
        mobile_carrier=task.mobile_carrier,
    )
