"""Email and mobile normalisation: one person, one login, however they type it."""

from __future__ import annotations

import pytest

from shared.contact import (
    InvalidContact,
    Login,
    mask_destination,
    normalize_email,
    normalize_mobile,
    parse_login,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Alice@Example.COM", "alice@example.com"),
        ("  bob.smith+tag@example.org ", "bob.smith+tag@example.org"),
        ("ÉLODIE@exemple.fr", "élodie@exemple.fr"),
    ],
)
def test_email_is_normalised_to_lower_case(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "plainaddress", "@example.com", "alice@", "a b@example.com", "alice@@example.com"]
)
def test_invalid_email_names_the_field(raw: str) -> None:
    with pytest.raises(InvalidContact) as caught:
        normalize_email(raw)
    assert caught.value.field == "email"
    assert caught.value.message.startswith("Invalid email address")


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(415) 555-0100", "US", "+14155550100"),
        ("415.555.0100", "us", "+14155550100"),
        ("+1 415 555 0100", "GB", "+14155550100"),  # an explicit country wins
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("00 44 20 7946 0958", "FR", "+442079460958"),
    ],
)
def test_mobile_is_normalised_to_e164(raw: str, region: str, expected: str) -> None:
    assert normalize_mobile(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region"),
    [("020 7946 0958", "US"), ("12345", "US"), ("call me", "US"), ("", "US"), ("+999 1234", "US")],
)
def test_invalid_mobile_names_the_field(raw: str, region: str) -> None:
    with pytest.raises(InvalidContact) as caught:
        normalize_mobile(raw, region)
    assert caught.value.field == "mobile_number"
    assert caught.value.message == "Invalid mobile number."


def test_invalid_contact_is_a_value_error() -> None:
    # Pydantic validators turn ValueErrors into 422s; this must stay one.
    assert issubclass(InvalidContact, ValueError)


def test_parse_login_tells_email_from_mobile() -> None:
    assert parse_login(" Alice@Example.com ", "US") == Login("email", "alice@example.com")
    assert parse_login("(415) 555-0100", "US") == Login("mobile_number", "+14155550100")
    assert parse_login("+442079460958", "US") == Login("mobile_number", "+442079460958")


@pytest.mark.parametrize(("raw", "field"), [("alice@", "email"), ("alice", "mobile_number")])
def test_parse_login_rejects_what_is_neither(raw: str, field: str) -> None:
    with pytest.raises(InvalidContact) as caught:
        parse_login(raw, "US")
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("destination", "masked"),
    [
        ("alice@example.com", "a***e@example.com"),
        ("al@example.com", "a***l@example.com"),
        ("a@example.com", "a***@example.com"),
        ("+14155550100", "+1******0100"),
        ("+442079460958", "+4*******0958"),
    ],
)
def test_mask_destination(destination: str, masked: str) -> None:
    assert mask_destination(destination) == masked
