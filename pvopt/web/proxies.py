"""Which address a request comes from, behind reverse proxies the household trusts (pure).

``PVOPT_WEB_TRUSTED_PROXIES`` lists the proxies' addresses (or networks, ``10.0.0.0/8``);
none by default. Only when the peer of the connection is one of them is the
``X-Forwarded-For`` header read, from the right: each trusted proxy appends the address
it got the request from, so the right-most address that is not a trusted proxy is the
client. Anything to its left was written by the client and may be forged: never used.
From any other peer the header is ignored: the peer is the client. What this decides is
the address the login throttle counts and the logs name.

An entry that is not an IP address where the chain was still being walked means a proxy
wrote nonsense: the last trusted hop is taken as the client (never an address from the
part a client controls).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Final

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Entries of X-Forwarded-For looked at, from the right (a chain of proxies is short).
MAX_HOPS: Final = 32
#: Longest header value read (longer: only its right-most part is read).
MAX_HEADER_CHARS: Final = 2048


def parse_trusted(text: str) -> tuple[Network, ...]:
    """The networks of a comma list of addresses or networks ("" : none); ValueError
    names the entry that is neither."""
    networks: list[Network] = []
    for item in text.split(","):
        entry = item.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network") from None
    return tuple(networks)


def _address(text: str) -> Address | None:
    entry = text.strip()
    if entry.startswith("[") and entry.endswith("]"):  # [2001:db8::1]
        entry = entry[1:-1]
    try:
        return ipaddress.ip_address(entry)
    except ValueError:
        return None


def _trusted(address: Address, trusted: tuple[Network, ...]) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is 127.0.0.1
    candidates = (address, mapped) if mapped is not None else (address,)
    return any(a in network for a in candidates for network in trusted)


def client_address(
    peer: str | None, forwarded_for: Iterable[str], trusted: tuple[Network, ...]
) -> str:
    """The client's address: ``peer`` (the connection's, None: unknown) unless it is a
    trusted proxy, then the right-most address of the ``X-Forwarded-For`` values (in
    the order received) that is not a trusted proxy (the module's docstring)."""
    if peer is None:
        return "unknown"
    peer_address = _address(peer)
    if not trusted or peer_address is None or not _trusted(peer_address, trusted):
        return peer
    text = ",".join(forwarded_for)[-MAX_HEADER_CHARS:]
    hops = text.split(",")[-MAX_HOPS:]
    client = peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return client  # a proxy wrote nonsense: the last trusted hop
        client = str(address)
        if not _trusted(address, trusted):
            return client
    return client  # every hop a trusted proxy: the farthest one
