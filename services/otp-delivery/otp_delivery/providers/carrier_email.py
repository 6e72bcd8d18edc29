"""US carrier email-to-SMS: a mail to `5551234567@txt.att.net` is delivered as a text."""

from __future__ import annotations

from pydantic import Field

from otp_delivery.providers.base import (
    OutboundPolicy,
    OutgoingMessage,
    PermanentDeliveryError,
    SendResult,
)
from otp_delivery.providers.carriers import gateway_for
from otp_delivery.providers.fields import Domain
from otp_delivery.providers.smtp import send_mail
from otp_delivery.providers.smtp_email import SmtpConfig


class CarrierEmailConfig(SmtpConfig):
    """The SMTP relay that sends to the gateways, and the gateway for users of unknown carrier."""

    default_gateway: Domain | None = Field(default=None)


class CarrierEmailProvider:
    name = "carrier_email"

    def __init__(self, config: CarrierEmailConfig, policy: OutboundPolicy) -> None:
        self.config = config
        self.policy = policy

    def address_for(self, message: OutgoingMessage) -> str:
        number = message.destination
        if not (number.startswith("+1") and len(number) == 12 and number[1:].isdigit()):
            raise PermanentDeliveryError("carrier email-to-SMS reaches US (+1) numbers only")
        gateway = gateway_for(message.mobile_carrier) or self.config.default_gateway
        if not gateway:
            raise PermanentDeliveryError(
                "the user's carrier is unknown and no default gateway is configured"
            )
        return f"{number[2:]}@{gateway}"

    def send(self, message: OutgoingMessage) -> SendResult:
        # No subject: gateways prepend it to the text, which costs characters.
        return send_mail(
            self.policy, self.config.server(), self.address_for(message), "", message.text
        )
