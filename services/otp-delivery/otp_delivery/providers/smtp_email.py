"""Email OTP over SMTP (STARTTLS, implicit TLS or plain for an internal relay)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from otp_delivery.providers.base import OutboundPolicy, OutgoingMessage, SendResult
from otp_delivery.providers.fields import EmailAddress, HeaderValue, HostName, Secret
from otp_delivery.providers.smtp import SmtpServer, send_mail


class SmtpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("password",)

    host: HostName
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: HeaderValue | None = Field(default=None, max_length=254)
    password: Secret | None = None
    from_address: EmailAddress
    from_name: HeaderValue | None = Field(default=None, max_length=100)

    def server(self) -> SmtpServer:
        return SmtpServer(
            host=self.host,
            port=self.port,
            security=self.security,
            username=self.username,
            password=self.password,
            from_address=self.from_address,
            from_name=self.from_name,
        )


class SmtpEmailProvider:
    name = "smtp"

    def __init__(self, config: SmtpConfig, policy: OutboundPolicy) -> None:
        self.config = config
        self.policy = policy

    def send(self, message: OutgoingMessage) -> SendResult:
        return send_mail(
            self.policy, self.config.server(), message.destination, message.subject, message.text
        )
