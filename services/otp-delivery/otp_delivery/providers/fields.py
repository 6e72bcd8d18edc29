"""Validated field types of provider settings: hosts, URLs, domains, message templates."""

from __future__ import annotations

import re
import string
from typing import Annotated
from urllib.parse import parse_qsl, urlsplit

from pydantic import AfterValidator, Field, ValidationInfo

from otp_delivery.outbound import address_problem, ip_literal

HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$",
    re.IGNORECASE,
)
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
MESSAGE_PLACEHOLDERS = frozenset({"code", "brand", "minutes", "action"})
# Validation context of settings read back from the database, not sent by an admin.
STORED = "stored"
# Query parameters that carry a credential (compared lower-case, `-` read as `_`).
CREDENTIAL_PARAMS = frozenset(
    {
        "key",
        "api_key",
        "apikey",
        "token",
        "access_token",
        "secret",
        "password",
        "pass",
        "auth",
        "authorization",
        "sig",
        "signature",
    }
)


def _host(value: str) -> str:
    value = value.strip()
    address = ip_literal(value)
    if address is None:
        if not HOSTNAME.match(value):
            raise ValueError("not a valid host name or IP address") from None
        return value.lower().rstrip(".")
    # Private addresses depend on the deployment (checked by the service); these never pass.
    problem = address_problem(address, allow_private=True)
    if problem:
        raise ValueError(problem)
    return str(address)


def _http_url(value: str) -> str:
    value = value.strip()
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError when out of range
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ValueError("must not contain a user name or password; use headers")
    if parts.fragment:
        raise ValueError("must not contain a #fragment")
    if any(c.isspace() for c in value):
        raise ValueError("must not contain spaces")
    _host(parts.hostname)
    if port == 0:
        raise ValueError("port must be 1-65535")
    return value


def _url_credential(value: str) -> str | None:
    """What credential a URL carries in clear (`user:password@`, `?api_key=`), if any."""
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None  # not a URL at all: _http_url says why
    if parts.username or parts.password:
        return "a user name or password"
    for name, _ in parse_qsl(parts.query, keep_blank_values=True):
        if name.strip().lower().replace("-", "_") in CREDENTIAL_PARAMS:
            return f"the query parameter {name!r}"
    return None


def _without_credential(value: str, info: ValidationInfo) -> str:
    # The URL is plain config: shown back by GET /otp/settings and kept in the audit
    # log's before/after. Only the authentication header is stored encrypted.
    if (info.context or {}).get(STORED):
        return value  # saved before this check existed: keep delivering; a new save refuses
    found = _url_credential(value)
    if found:
        raise ValueError(
            f"must not carry a credential ({found}): put it in the authentication header, "
            "auth_header_name/auth_header_value, which is stored encrypted and never shown"
        )
    return value


def _domain(value: str) -> str:
    value = value.strip().lower().rstrip(".")
    if "." not in value or not HOSTNAME.match(value):
        raise ValueError("not a valid domain name")
    return value


def _placeholders(value: str) -> set[str]:
    try:
        parsed = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(value)]
    except ValueError as exc:
        raise ValueError(
            f"braces do not match ({exc}); write {{{{ or }}}} for a literal brace"
        ) from exc
    fields = {name for name, _, _ in parsed if name is not None}
    if any(spec or conv for name, spec, conv in parsed if name is not None):
        raise ValueError("placeholders take no format options; write them as {code}")
    unknown = sorted(fields - MESSAGE_PLACEHOLDERS)
    if unknown:
        allowed = ", ".join("{" + p + "}" for p in sorted(MESSAGE_PLACEHOLDERS))
        raise ValueError(f"unknown placeholder {{{unknown[0]}}}; use {allowed}")
    return fields


def _message_template(value: str) -> str:
    if "code" not in _placeholders(value):
        raise ValueError("must contain the {code} placeholder")
    return value


def _subject_template(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("must not contain line breaks")
    if "code" in _placeholders(value):
        # Subjects show in lock-screen notifications and mail server logs.
        raise ValueError("must not contain {code}; the code belongs in the body")
    return value


def _header_name(value: str) -> str:
    if not HEADER_NAME.match(value):
        raise ValueError("not a valid HTTP header name")
    return value


def _header_value(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("must not contain line breaks")
    return value


HostName = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_host)]
HttpUrl = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_http_url)]
# Checked first, so that `user:password@` also gets the hint where the credential goes.
CredentialFreeUrl = Annotated[
    str,
    Field(min_length=1, max_length=2000),
    AfterValidator(_without_credential),
    AfterValidator(_http_url),
]
Domain = Annotated[str, Field(min_length=3, max_length=253), AfterValidator(_domain)]
MessageTemplate = Annotated[
    str, Field(min_length=6, max_length=2000), AfterValidator(_message_template)
]
SubjectTemplate = Annotated[
    str, Field(min_length=1, max_length=200), AfterValidator(_subject_template)
]
HeaderName = Annotated[str, AfterValidator(_header_name)]
HeaderValue = Annotated[str, Field(max_length=2000), AfterValidator(_header_value)]
Secret = Annotated[str, Field(max_length=1000), AfterValidator(_header_value)]
EmailAddress = Annotated[
    str, Field(min_length=3, max_length=254, pattern=r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
]


def render_message(template: str, values: dict[str, str]) -> str:
    """Fill a validated template; only the known placeholders exist in it."""
    return template.format_map({k: values.get(k, "") for k in MESSAGE_PLACEHOLDERS})
