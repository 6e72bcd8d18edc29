"""Where provider calls may go: resolve first, refuse link-local/metadata, then pin the address.

The host is resolved once and the connection goes to that very address, so a
DNS answer that changes between the check and the connect (rebinding) cannot
steer a provider call to the cloud metadata service or an internal host.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
import ssl
from dataclasses import dataclass

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Never a provider, whatever the deployment allows: instance metadata
# endpoints (AWS, GCP, Azure, Alibaba, the EC2 IPv6 one) and link-local space.
ALWAYS_REFUSED = tuple(
    ipaddress.ip_network(net)
    for net in (
        "169.254.0.0/16",
        "fe80::/10",
        "100.100.100.200/32",
        "fd00:ec2::254/128",
        "0.0.0.0/8",
        "::/128",
        "224.0.0.0/4",
        "ff00::/8",
    )
)


# The old numeric IPv4 spellings resolvers still accept: 2852039166, 0xa9fea9fe,
# 0251.0376.0251.0376, 169.254.43518 are all 169.254.169.254 to getaddrinfo.
_NUMERIC_IPV4 = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}", re.IGNORECASE)


class HostRefused(Exception):
    """The provider host resolves to an address this deployment must not call."""


class HostUnresolvable(Exception):
    """DNS gave no answer (often temporary)."""


@dataclass(frozen=True)
class Destination:
    host: str  # as configured: used for TLS server name and the Host header
    address: str  # the vetted IP the connection goes to
    port: int


def address_problem(address: IpAddress, *, allow_private: bool) -> str | None:
    """Why `address` may not be called, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if any(address in net for net in ALWAYS_REFUSED) or address.is_link_local:
        return f"{address} is a link-local or metadata address"
    if address.is_multicast or address.is_unspecified:
        return f"{address} is not a unicast address"
    if not address.is_global and not allow_private:
        return f"{address} is a loopback or private address (not allowed by this deployment)"
    return None


def ip_literal(host: str) -> IpAddress | None:
    """`host` as the address a resolver would read it as, if it is written as one."""
    bare = host.strip("[]")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    if not _NUMERIC_IPV4.fullmatch(bare):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(bare))
    except OSError:
        return None


def literal_problem(host: str, *, allow_private: bool) -> str | None:
    """For settings validation: the problem with `host` if it is an IP literal or localhost."""
    address = ip_literal(host)
    if address is None:
        if host.lower().rstrip(".") == "localhost" and not allow_private:
            return "localhost is a loopback host (not allowed by this deployment)"
        return None
    return address_problem(address, allow_private=allow_private)


def resolve_destination(host: str, port: int, *, allow_private: bool) -> Destination:
    """The first address of `host` that passes, once EVERY address it resolves to passes."""
    bare = host.strip("[]")
    try:
        infos = socket.getaddrinfo(bare, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostUnresolvable(f"cannot resolve {bare}") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise HostUnresolvable(f"cannot resolve {bare}")
    for address in addresses:
        problem = address_problem(address, allow_private=allow_private)
        if problem:
            raise HostRefused(f"{bare}: {problem}")
    return Destination(host=bare, address=str(addresses[0]), port=port)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: building one reads the CA bundle (~40 ms)."""
    return ssl.create_default_context()
