"""Sending one mail over SMTP to a vetted address, with failures sorted into retry or give up."""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Any, Literal

from otp_delivery.outbound import (
    Destination,
    HostRefused,
    HostUnresolvable,
    resolve_destination,
    tls_context,
)
from otp_delivery.providers.base import (
    DeliveryError,
    OutboundPolicy,
    PermanentDeliveryError,
    SendResult,
    TransientDeliveryError,
)

Security = Literal["none", "starttls", "tls"]


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: Security
    username: str | None
    password: str | None
    from_address: str
    from_name: str | None = None


class _Pinned:
    """Connects to the vetted address while TLS still checks the configured host name."""

    def __init__(self, dest: Destination, **kwargs: Any) -> None:
        self._pinned_address = dest.address
        super().__init__(**kwargs)
        # smtplib verifies the TLS certificate against `_host` (STARTTLS and implicit TLS).
        setattr(self, "_host", dest.host)  # noqa: B010

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return super()._get_socket(self._pinned_address, port, timeout)  # type: ignore[misc]


class _PinnedSMTP(_Pinned, smtplib.SMTP):
    pass


class _PinnedSMTPS(_Pinned, smtplib.SMTP_SSL):
    pass


def _open(server: SmtpServer, dest: Destination, policy: OutboundPolicy) -> smtplib.SMTP:
    context = tls_context()
    kwargs: dict[str, Any] = {"local_hostname": policy.ehlo_name, "timeout": policy.smtp_timeout}
    client: smtplib.SMTP
    if server.security == "tls":
        client = _PinnedSMTPS(dest, context=context, **kwargs)
    else:
        client = _PinnedSMTP(dest, **kwargs)
    code, _ = client.connect(dest.host, dest.port)
    if code != 220:
        client.close()
        raise _classified(code, "the mail server refused the connection")
    if server.security == "starttls":
        client.ehlo()
        client.starttls(context=context)
    return client


def send_mail(
    policy: OutboundPolicy, server: SmtpServer, to_address: str, subject: str, body: str
) -> SendResult:
    try:
        dest = resolve_destination(
            server.host, server.port, allow_private=policy.allow_private_hosts
        )
    except HostRefused as exc:
        raise PermanentDeliveryError(f"mail server host refused: {exc}") from exc
    except HostUnresolvable as exc:
        raise TransientDeliveryError(str(exc)) from exc
    message = EmailMessage()
    message["From"] = formataddr((server.from_name or "", server.from_address))
    message["To"] = to_address
    if subject:
        message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=server.from_address.rpartition("@")[2] or None)
    message.set_content(body)
    try:
        client = _open(server, dest, policy)
        try:
            if server.username:
                client.login(server.username, server.password or "")
            client.send_message(message, from_addr=server.from_address, to_addrs=[to_address])
        finally:
            _quit_quietly(client)
    except DeliveryError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise PermanentDeliveryError(
            "the mail server rejected the credentials", str(exc.smtp_code)
        ) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        code = next(iter(exc.recipients.values()))[0] if exc.recipients else 550
        raise _classified(code, "the mail server refused the recipient") from exc
    except smtplib.SMTPResponseException as exc:
        raise _classified(exc.smtp_code, "the mail server refused the message") from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise PermanentDeliveryError(f"the mail server does not support this: {exc}") from exc
    except ssl.SSLCertVerificationError as exc:
        raise PermanentDeliveryError("the mail server's TLS certificate is not valid") from exc
    except (smtplib.SMTPException, OSError) as exc:
        # Disconnects, timeouts, refused connections: the server may be back soon.
        raise TransientDeliveryError(
            f"cannot reach the mail server ({type(exc).__name__})"
        ) from exc
    return SendResult(provider_status="250")


def _quit_quietly(client: smtplib.SMTP) -> None:
    # Once the server accepted the message, a failed QUIT must not turn it into a retry.
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _classified(code: int, what: str) -> DeliveryError:
    if 400 <= code < 500:
        return TransientDeliveryError(f"{what} for now (SMTP {code})", str(code))
    return PermanentDeliveryError(f"{what} (SMTP {code})", str(code))
