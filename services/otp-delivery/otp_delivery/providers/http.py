"""One HTTP call to an SMS API: vetted address, no redirects, bounded time, failures classified."""

from __future__ import annotations

import logging

import httpx

from otp_delivery.outbound import (
    HostRefused,
    HostUnresolvable,
    resolve_destination,
    tls_context,
)
from otp_delivery.providers.base import (
    OutboundPolicy,
    PermanentDeliveryError,
    TransientDeliveryError,
)

# httpx logs every request URL at INFO, and a Generic API URL may carry the code.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

# Worth retrying: the provider is overloaded, rate-limiting or timed out.
TRANSIENT_STATUSES = {408, 425, 429}


def call_provider(
    policy: OutboundPolicy,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    content: bytes | None = None,
) -> httpx.Response:
    """The provider's 2xx response; anything else raises a Transient/PermanentDeliveryError."""
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise PermanentDeliveryError("the provider URL is not valid") from exc
    if target.scheme not in ("http", "https") or not target.host:
        raise PermanentDeliveryError("the provider URL must be http(s) with a host")
    port = target.port or (443 if target.scheme == "https" else 80)
    try:
        dest = resolve_destination(target.host, port, allow_private=policy.allow_private_hosts)
    except HostRefused as exc:
        raise PermanentDeliveryError(f"provider host refused: {exc}") from exc
    except HostUnresolvable as exc:
        raise TransientDeliveryError(str(exc)) from exc
    # Connect to the vetted address; name the real host for virtual hosting and TLS.
    pinned = target.copy_with(host=dest.address)
    request_headers = {**headers, "Host": target.netloc.decode("ascii")}
    extensions = {"sni_hostname": dest.host} if target.scheme == "https" else {}
    try:
        with httpx.Client(
            follow_redirects=False,
            timeout=policy.http_timeout,
            trust_env=False,  # no proxy from the environment: it would bypass the pinning
            verify=tls_context(),
        ) as client:
            response = client.request(
                method,
                pinned,
                headers=request_headers,
                content=content,
                extensions=extensions,
            )
    except httpx.TimeoutException as exc:
        raise TransientDeliveryError("the provider did not answer in time") from exc
    except httpx.TransportError as exc:
        raise TransientDeliveryError(f"cannot reach the provider ({type(exc).__name__})") from exc
    return _checked(response)


def _checked(response: httpx.Response) -> httpx.Response:
    status = response.status_code
    # The body is never quoted: a provider may echo the message, code included.
    if status >= 500 or status in TRANSIENT_STATUSES:
        raise TransientDeliveryError(f"the provider answered HTTP {status}", str(status))
    if 300 <= status < 400:
        raise PermanentDeliveryError(
            f"the provider answered with a redirect (HTTP {status}), which is not followed",
            str(status),
        )
    if status >= 400:
        raise PermanentDeliveryError(
            f"the provider refused the request (HTTP {status})", str(status)
        )
    if status < 200:
        raise TransientDeliveryError(f"unexpected HTTP {status}", str(status))
    return response


def json_field(response: httpx.Response, path: str) -> object:
    """`a.b.c` out of a JSON response body; None when absent or not JSON."""
    try:
        value: object = response.json()
    except ValueError:
        return None
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value
