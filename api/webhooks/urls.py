"""What a webhook may point at. Outside local development: http(s) only, no credentials in the URL, and
no loopback, private, link-local, multicast or otherwise reserved address, checked on the literal host
when the endpoint is registered and again on every address the name resolves to just before each attempt
(the request then goes to the checked address, so a DNS answer that changes in between cannot redirect it).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_CHARS = 2000
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UrlRefused(ValueError):
    """The URL is malformed or points at an address webhooks may not reach."""


@dataclass(frozen=True)
class Target:
    """Where one attempt goes: the URL as registered, the checked address to connect to."""

    url: str
    scheme: str
    host: str
    port: int
    address: str


def syntax_error(url: str) -> str | None:
    """Why `url` cannot be an endpoint at all (None when it can)."""
    if len(url) > MAX_URL_CHARS:
        return f"at most {MAX_URL_CHARS} characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a URL: {exc}"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parts.hostname:
        return "has no host"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials"
    if parts.fragment:
        return "must not have a #fragment"
    if port == 0:
        return "port 0 is not a port"
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        return "must not contain spaces or control characters"
    return None


def forbidden(address: IpAddress) -> bool:
    """Loopback, private, link-local, multicast, unspecified or reserved (incl. IPv4 mapped in IPv6)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def _literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_registration(url: str, *, allow_private: bool) -> None:
    """Raises UrlRefused for a malformed URL, or (unless allowed) a literal forbidden address or a name that
    resolves to one. A name that does not resolve yet is accepted: delivery checks it again."""
    error = syntax_error(url)
    if error:
        raise UrlRefused(f"the URL {error}")
    if allow_private:
        return
    host = urlsplit(url).hostname or ""
    literal = _literal(host)
    if literal is not None:
        if forbidden(literal):
            raise UrlRefused(f"the URL points at {literal}, a loopback, private or link-local address")
        return
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        raise UrlRefused(f"the URL's host {host!r} is local")
    with contextlib.suppress(OSError):  # not resolvable (yet): every attempt resolves and checks again
        _resolve(host, 443)  # raises UrlRefused for a forbidden address


def _resolve(host: str, port: int) -> list[IpAddress]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IpAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    bad = [a for a in addresses if forbidden(a)]
    if bad:
        raise UrlRefused(f"{host} resolves to {bad[0]}, a loopback, private or link-local address")
    return addresses


def resolve_target(url: str, *, allow_private: bool) -> Target:
    """Just before an attempt: resolve the host and check every address it has (unless allowed).

    Raises UrlRefused (a forbidden address, a malformed URL) or OSError (the name does not resolve).
    """
    error = syntax_error(url)
    if error:
        raise UrlRefused(f"the URL {error}")
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    literal = _literal(host)
    if literal is not None:
        if not allow_private and forbidden(literal):
            raise UrlRefused(f"the URL points at {literal}, a loopback, private or link-local address")
        return Target(url, parts.scheme, host, port, str(literal))
    if allow_private:
        return Target(url, parts.scheme, host, port, host)  # connect by name (local development)
    addresses = _resolve(host, port)
    if not addresses:
        raise OSError(f"{host} has no address")
    return Target(url, parts.scheme, host, port, str(addresses[0]))


def pinned_url(target: Target) -> str:
    """The URL with its host replaced by the checked address (the Host header and SNI keep the name)."""
    if target.address == target.host:
        return target.url
    parts = urlsplit(target.url)
    address = f"[{target.address}]" if ":" in target.address else target.address
    netloc = f"{address}:{target.port}"
    return parts._replace(netloc=netloc).geturl()
