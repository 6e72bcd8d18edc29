"""Normalising the two things a person signs in with: an email address or a mobile number.

The directory stores them this way and the auth service looks them up this
way, so `Alice@Example.COM` and `alice@example.com` are one login, as are
`(415) 555-0100` and `+14155550100`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email


class InvalidContact(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def normalize_email(value: str) -> str:
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidContact("email", f"Invalid email address: {exc}") from exc
    return result.normalized.lower()


def normalize_mobile(value: str, default_region: str) -> str:
    """E.164 (`+14155550100`); numbers without a country code use `default_region`."""
    try:
        number = phonenumbers.parse(value.strip(), default_region.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidContact("mobile_number", "Invalid mobile number.") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidContact("mobile_number", "Invalid mobile number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class Login:
    kind: Literal["email", "mobile_number"]
    value: str


def parse_login(value: str, default_region: str) -> Login:
    """A login is an email address if it has an @, else a mobile number."""
    value = value.strip()
    if "@" in value:
        return Login("email", normalize_email(value))
    return Login("mobile_number", normalize_mobile(value, default_region))


def mask_destination(value: str) -> str:
    """`a***e@example.com` / `+1******0100`: enough to recognise, not to reuse."""
    if "@" in value:
        local, _, domain = value.partition("@")
        shown = local[0] + "***" + (local[-1] if len(local) > 1 else "")
        return f"{shown}@{domain}"
    return value[:2] + "*" * max(len(value) - 6, 0) + value[-4:]
