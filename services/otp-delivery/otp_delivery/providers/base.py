"""What every provider takes and how it reports failure: transient (retry) or permanent (don't)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class OutgoingMessage:
    """One rendered message. `secret` is the code or link; it must never reach a log or a row."""

    destination: str  # E.164 mobile number or email address
    text: str
    secret: str
    subject: str = ""
    mobile_carrier: str | None = None


@dataclass(frozen=True)
class SendResult:
    provider_status: str  # HTTP status or SMTP reply code, for the delivery log


class DeliveryError(Exception):
    """A send that did not go through. The message is safe to log and store (no secrets)."""

    transient = False

    def __init__(self, message: str, provider_status: str | None = None) -> None:
        super().__init__(message)
        self.provider_status = provider_status


class TransientDeliveryError(DeliveryError):
    """Timeouts, connection trouble, 5xx, 429, SMTP 4xx: worth another try."""

    transient = True


class PermanentDeliveryError(DeliveryError):
    """4xx, bad credentials, refused host or recipient: retrying would not help."""


@dataclass(frozen=True)
class OutboundPolicy:
    """The deployment's limits on provider calls."""

    allow_private_hosts: bool
    http_timeout: float
    smtp_timeout: float
    ehlo_name: str  # our name in SMTP EHLO (no reverse-DNS lookup of the local host)


class Provider(Protocol):
    name: str

    def send(self, message: OutgoingMessage) -> SendResult: ...
