"""Webhook URLs: only http(s) to public addresses, checked at subscription and at every send.

A URL that reaches loopback, private, link-local or other non-public addresses would let a
customer make Kitdesk call into its own network (SSRF). Every address the host name resolves to
is checked; ``webhook_allow_private_urls`` lifts the rule for tests and closed networks.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import httpx

from kitdesk.errors import FieldError, Invalid

MAX_URL_LENGTH = 2000
RESOLVE_TIMEOUT_SECONDS = 5.0
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class AddressRefused(Exception):
    """The host is, or resolves to, an address webhooks may not reach."""


class HostUnresolved(Exception):
    """The host name does not resolve."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """True when ``address`` is a globally routable unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None and not is_public(embedded):
            return False
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_unspecified
    )


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def resolve(host: str, port: int, *, allow_private: bool) -> list[str]:
    """Every address ``host`` resolves to, refusing the lot if any one is not public."""
    literal = _literal(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError, UnicodeError) as exc:
            raise HostUnresolved(host) from exc
        addresses = list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))
        if not addresses:
            raise HostUnresolved(host)
    if not allow_private:
        for address in addresses:
            if not is_public(ipaddress.ip_address(address)):
                raise AddressRefused(address)
    return addresses


def _bad_url(message: str) -> Invalid:
    return Invalid(code="invalid_webhook_url", message=message, errors=[FieldError("url", message)])


def parse_url(url: str) -> httpx.URL:
    """The URL as httpx will send it; only absolute http(s) URLs with a host pass."""
    if len(url) > MAX_URL_LENGTH or any(c.isspace() or not c.isprintable() for c in url):
        raise _bad_url(f"url must be a URL of at most {MAX_URL_LENGTH} printable characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise _bad_url("url is not a valid URL") from exc
    if parsed.scheme not in ("http", "https"):
        raise _bad_url("url must start with http:// or https://")
    if not parsed.host:
        raise _bad_url("url must name a host")
    return parsed


def default_port(url: httpx.URL) -> int:
    """The port a request to ``url`` goes to."""
    return url.port or (443 if url.scheme == "https" else 80)


async def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse (400) a malformed or unresolvable URL, or one that reaches a non-public address."""
    parsed = parse_url(url)
    host = parsed.raw_host.decode("ascii")
    try:
        await resolve(host, default_port(parsed), allow_private=allow_private)
    except HostUnresolved as exc:
        raise _bad_url(f"url host {host} does not resolve") from exc
    except AddressRefused as exc:
        raise _bad_url(
            f"url must not point at a loopback, private, link-local or other non-public "
            f"address ({exc})"
        ) from exc
