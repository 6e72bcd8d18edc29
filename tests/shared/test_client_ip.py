"""The effective client IP: X-Forwarded-For is believed only from our own proxies."""

from __future__ import annotations

import ipaddress

import pytest

from shared.client_ip import _parse_ip, ip_allowed, normalize_network, parse_ip, resolve_client_ip

TRUSTED = [ipaddress.ip_network("10.255.0.0/16"), ipaddress.ip_network("fd00:aaaa::/32")]


def test_no_header_means_the_peer_is_the_client() -> None:
    result = resolve_client_ip("203.0.113.9", None, TRUSTED)
    assert result.effective_ip == "203.0.113.9"
    assert result.forwarded_ip is None
    assert result.remote_addr == "203.0.113.9"


def test_untrusted_peer_cannot_spoof_its_address() -> None:
    result = resolve_client_ip("203.0.113.9", "10.255.0.1, 198.51.100.1", TRUSTED)
    assert result.effective_ip == "203.0.113.9"
    # The raw header is still kept for the audit log.
    assert result.forwarded_ip == "10.255.0.1, 198.51.100.1"


def test_no_trusted_proxies_configured_ignores_the_header() -> None:
    result = resolve_client_ip("10.255.0.2", "198.51.100.1", [])
    assert result.effective_ip == "10.255.0.2"


def test_trusted_peer_gives_the_rightmost_untrusted_hop() -> None:
    # The client prepended a fake hop; only what our proxy appended counts.
    result = resolve_client_ip("10.255.0.2", "1.1.1.1, 198.51.100.7", TRUSTED)
    assert result.effective_ip == "198.51.100.7"
    assert result.remote_addr == "10.255.0.2"


def test_chain_of_trusted_proxies_is_skipped() -> None:
    result = resolve_client_ip(
        "10.255.0.2", "6.6.6.6, 198.51.100.7, 10.255.3.4, 10.255.9.9", TRUSTED
    )
    assert result.effective_ip == "198.51.100.7"


def test_all_hops_trusted_gives_the_leftmost_hop() -> None:
    result = resolve_client_ip("10.255.0.2", "10.255.7.7, 10.255.8.8", TRUSTED)
    assert result.effective_ip == "10.255.7.7"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("198.51.100.7, not-an-ip", "10.255.0.2"),  # garbage right after our proxy
        ("198.51.100.7, , 10.255.3.4", "10.255.3.4"),  # empty hop stops the walk
        ("garbage, 198.51.100.7", "198.51.100.7"),  # garbage beyond the client is ignored
        ("198.51.100.7:4433", "10.255.0.2"),  # ports are not addresses
    ],
)
def test_garbled_hops_stop_the_walk(header: str, expected: str) -> None:
    assert resolve_client_ip("10.255.0.2", header, TRUSTED).effective_ip == expected


def test_ipv6_peer_and_hops() -> None:
    result = resolve_client_ip("fd00:aaaa::5", "2001:db8::1, [fd00:aaaa::6]", TRUSTED)
    assert result.effective_ip == "2001:db8::1"
    direct = resolve_client_ip("2001:db8::9", "198.51.100.7", TRUSTED)
    assert direct.effective_ip == "2001:db8::9"


def test_ipv4_mapped_ipv6_is_treated_as_ipv4() -> None:
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
    result = resolve_client_ip("::ffff:10.255.0.2", "::ffff:198.51.100.7", TRUSTED)
    assert result.remote_addr == "10.255.0.2"
    assert result.effective_ip == "198.51.100.7"


def test_parsed_addresses_are_remembered_but_long_junk_is_not() -> None:
    """Hops come from a trusted proxy's header; a megabyte of one is no address and
    must not sit in the parse cache (4,096 entries of it would be gigabytes)."""
    _parse_ip.cache_clear()
    assert parse_ip("198.51.100.7") == ipaddress.ip_address("198.51.100.7")
    assert parse_ip("198.51.100.7") is parse_ip("198.51.100.7")
    assert parse_ip("[fe80::1%enp0s31f6-longname]") is not None  # a zone fits
    junk = "1" * 1_000_000
    assert parse_ip(junk) is None
    assert resolve_client_ip("10.255.0.2", junk, TRUSTED).effective_ip == "10.255.0.2"
    assert _parse_ip.cache_info().currsize == 3  # the two above and the peer, not the junk


def test_unparsable_peer_has_no_effective_ip() -> None:
    result = resolve_client_ip("testclient", "198.51.100.7", TRUSTED)
    assert result.effective_ip is None
    assert result.remote_addr == "testclient"
    assert resolve_client_ip(None, None, TRUSTED).effective_ip is None


def test_forwarded_header_is_truncated_for_storage() -> None:
    header = ", ".join(["198.51.100.7"] * 100)
    result = resolve_client_ip("203.0.113.9", header, TRUSTED)
    assert result.forwarded_ip is not None
    assert len(result.forwarded_ip) == 512


def test_ip_allowed_matches_networks() -> None:
    networks = [ipaddress.ip_network("192.0.2.0/24"), ipaddress.ip_network("2001:db8::/48")]
    assert ip_allowed("192.0.2.200", networks)
    assert ip_allowed("2001:db8:0:1::1", networks)
    assert ip_allowed("::ffff:192.0.2.1", networks)
    assert not ip_allowed("192.0.3.1", networks)
    assert not ip_allowed("2001:db9::1", networks)


@pytest.mark.parametrize("address", [None, "", "not-an-ip", "192.0.2.300"])
def test_ip_allowed_fails_closed_on_unparsable_address(address: str | None) -> None:
    assert not ip_allowed(address, [ipaddress.ip_network("0.0.0.0/0")])


def test_ip_allowed_fails_closed_on_empty_list() -> None:
    assert not ip_allowed("192.0.2.1", [])


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("192.0.2.77/24", "192.0.2.0/24"),
        (" 192.0.2.77 ", "192.0.2.77/32"),
        ("2001:DB8::1/32", "2001:db8::/32"),
        ("2001:db8::1", "2001:db8::1/128"),
        ("0.0.0.0/0", "0.0.0.0/0"),
        ("::ffff:192.0.2.77", "192.0.2.77/32"),
        ("::ffff:192.0.2.77/120", "192.0.2.0/24"),
    ],
)
def test_normalize_network_clears_host_bits(entry: str, expected: str) -> None:
    assert normalize_network(entry) == expected


def test_ipv4_mapped_allow_list_entry_matches_the_client() -> None:
    networks = [ipaddress.ip_network(normalize_network("::ffff:192.0.2.77"))]
    assert ip_allowed("192.0.2.77", networks)
    assert ip_allowed("::ffff:192.0.2.77", networks)


@pytest.mark.parametrize("entry", ["", "   ", "junk", "192.0.2.0/33", "192.0.2.0/24/1", "1.2.3"])
def test_normalize_network_rejects_junk(entry: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        normalize_network(entry)
