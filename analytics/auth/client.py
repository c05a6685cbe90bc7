"""Which client an attempt comes from: the address sign-in budgets are counted per.

``X-Forwarded-For`` is written by whoever sent the request, so it is believed only when the
direct peer is a configured trusted proxy (the load balancer's subnets): then the right-most
address that is not itself a trusted proxy is the client. Anything else (no peer, a peer
outside the list, garbage in the header) falls back to the peer, or to ``unknown``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

UNKNOWN_CLIENT = "unknown"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxiesError(ValueError):
    """``AUTH_TRUSTED_PROXIES`` holds something that is not a network."""


def parse_trusted_proxies(spec: str | None) -> tuple[Network, ...]:
    """``"10.0.0.0/16, 192.168.1.7"`` -> networks; empty -> () (trust no forwarded header)."""
    nets: list[Network] = []
    for part in (spec or "").split(","):
        if not part.strip():
            continue
        try:
            nets.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            raise TrustedProxiesError(
                f"AUTH_TRUSTED_PROXIES: {part.strip()[:60]!r} is not an address or network "
                "(e.g. 10.0.0.0/16)") from None
    return tuple(nets)


def _ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None


def _trusted(addr: ipaddress.IPv4Address | ipaddress.IPv6Address,
             trusted: Sequence[Network]) -> bool:
    return any(addr in net for net in trusted)


def client_address(peer: str | None, forwarded_for: str | None, *,
                   trusted: Sequence[Network]) -> str:
    """The client's address as a string (``unknown`` when even the peer is missing)."""
    addr = _ip(peer)
    if addr is None:
        return UNKNOWN_CLIENT
    if not trusted or not _trusted(addr, trusted) or not forwarded_for:
        return str(addr)
    for hop in reversed(forwarded_for.split(",")):
        hop_addr = _ip(hop)
        if hop_addr is None:
            return str(addr)  # a forged or broken chain: count it against the proxy's peer
        if not _trusted(hop_addr, trusted):
            return str(hop_addr)
    return str(addr)
