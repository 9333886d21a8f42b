"""Which kind of host a URL names: this machine (loopback), a private network, or the internet. Pure.

Shared by the client (is a backend URL this machine?) and the local backend (may it bind there, may an admin
route answer that Host header, may a cluster address be used without TLS).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def _address(url: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    host = urlsplit(url).hostname or ""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_loopback(url: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if (urlsplit(url).hostname or "") == "localhost":
        return True
    address = _address(url)
    return address is not None and address.is_loopback


def is_private(url: str) -> bool:
    """True for loopback and for private or link-local addresses (10/8, 172.16/12, 192.168/16, fc00::/7, ...):
    a network that is not the internet. Host names other than localhost are not resolved and count as public."""
    address = _address(url)
    return is_loopback(url) or (address is not None and (address.is_private or address.is_link_local)
                                and not address.is_unspecified)
