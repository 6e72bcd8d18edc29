"""Where provider calls may go: metadata and link-local never, private only when allowed."""

from __future__ import annotations

import ipaddress

import pytest
from fastapi.testclient import TestClient

from otp_delivery.outbound import HostRefused, address_problem, resolve_destination
from shared.runtime import Runtime
from tests.otp_delivery.sinks import HttpSink, SmtpSink
from tests.otp_delivery.support import configure, email_settings, generic_api_settings

NEVER = [
    "169.254.169.254",  # AWS/GCP/Azure metadata
    "169.254.1.1",
    "100.100.100.200",  # Alibaba metadata
    "fd00:ec2::254",  # AWS metadata over IPv6
    "fe80::1",
    "::ffff:169.254.169.254",  # the same, IPv4-mapped
    "0.0.0.0",
    "::",
    "224.0.0.1",
]
PRIVATE = ["127.0.0.1", "::1", "10.0.0.5", "172.16.3.4", "192.168.0.10", "fd12::1"]


@pytest.mark.parametrize("address", NEVER)
def test_metadata_and_link_local_are_refused_even_when_private_is_allowed(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address), allow_private=True)


@pytest.mark.parametrize("address", PRIVATE)
def test_private_addresses_depend_on_the_deployment(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert address_problem(ip, allow_private=False)
    assert address_problem(ip, allow_private=True) is None


def test_public_addresses_pass() -> None:
    assert address_problem(ipaddress.ip_address("8.8.8.8"), allow_private=False) is None


def test_a_name_is_judged_by_what_it_resolves_to() -> None:
    with pytest.raises(HostRefused):
        resolve_destination("localhost", 80, allow_private=False)
    assert resolve_destination("localhost", 80, allow_private=True).address in ("127.0.0.1", "::1")


def test_sends_are_refused_at_connect_time_too(
    otp_admin: TestClient,
    runtime: Runtime,
    http_sink: HttpSink,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Settings saved while allowed (or a name that later resolves inward) still do not go out."""
    configure(otp_admin, generic_api_settings(http_sink))
    configure(otp_admin, email_settings(smtp_sink))
    monkeypatch.setattr(runtime.settings, "otp_allow_private_hosts", False)

    sms = otp_admin.post("/otp/test-sms", json={"mobile_number": "+14155550100"}).json()
    email = otp_admin.post("/otp/test-email", json={"email": "ada@example.com"}).json()

    assert sms["ok"] is False and "refused" in sms["error"]
    assert email["ok"] is False and "refused" in email["error"]
    assert http_sink.requests == [] and smtp_sink.messages == []
