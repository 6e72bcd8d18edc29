"""Who is calling: the effective client IP, trusting X-Forwarded-For only from our proxies."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class ClientAddress:
    effective_ip: str | None  # what the IP policy checks
    forwarded_ip: str | None  # the raw X-Forwarded-For header, for the audit log
    remote_addr: str | None  # the TCP peer


# The longest address text: IPv6 (45) with a zone (IFNAMSIZ) in brackets, with spaces.
MAX_ADDRESS_TEXT = 80


def parse_ip(value: str | None) -> IPAddress | None:
    # Anything longer is no address, and is not kept in the cache below.
    if not value or len(value) > MAX_ADDRESS_TEXT:
        return None
    return _parse_ip(value)


@functools.lru_cache(maxsize=4096)
def _parse_ip(value: str) -> IPAddress | None:
    """Remembered: every request parses its peer and its effective address, and a
    deployment sees few distinct ones (addresses are immutable, so sharing is safe)."""
    try:
        address = ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _is_trusted(address: IPAddress, trusted: Sequence[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)


def resolve_client_ip(
    remote_addr: str | None, forwarded_for: str | None, trusted: Sequence[IPNetwork]
) -> ClientAddress:
    """Walk X-Forwarded-For from the right, skipping trusted proxies.

    Only a peer inside `trusted` may speak for the client; the first hop (from
    the right) that is not a trusted proxy is the client. A client sending its
    own header straight to a service gains nothing: its peer is not trusted.
    """
    peer = parse_ip(remote_addr)
    effective: IPAddress | None = peer
    if peer is not None and forwarded_for and _is_trusted(peer, trusted):
        for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
            address = parse_ip(hop)
            if address is None:
                # A garbled hop: stop believing the chain and use what we had.
                break
            effective = address
            if not _is_trusted(address, trusted):
                break
    return ClientAddress(
        effective_ip=str(effective) if effective else None,
        forwarded_ip=forwarded_for[:512] if forwarded_for else None,
        remote_addr=str(peer) if peer else remote_addr,
    )


def normalize_network(value: str) -> str:
    """An allow-list entry (IPv4/IPv6 address or CIDR), normalised with host bits cleared."""
    text = value.strip()
    if not text:
        raise ValueError("empty network")
    network = ipaddress.ip_network(text, strict=False)
    # Addresses are compared as IPv4 when IPv4-mapped (see parse_ip); an entry
    # like ::ffff:192.0.2.1 must be stored the same way or it never matches.
    mapped = network.network_address.ipv4_mapped if network.version == 6 else None
    if mapped is not None and network.prefixlen >= 96:
        network = ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}")
    return str(network)


def ip_allowed(address: str | None, networks: Sequence[IPNetwork]) -> bool:
    """Fail closed: no networks, or no parsable address, means no."""
    ip = parse_ip(address)
    if ip is None or not networks:
        return False
    return any(ip.version == net.version and ip in net for net in networks)
