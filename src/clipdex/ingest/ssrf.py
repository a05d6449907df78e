"""Fetching a URL without letting it reach private networks (SSRF), with size and time limits.

Each hop is resolved once, every address must be public (or in an operator-allowed network), and
the connection goes to the checked address (no second DNS lookup an attacker could rebind).
Redirects are followed by hand so every hop is checked the same way.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from clipdex.errors import (
    ImportBadRedirect,
    ImportForbiddenAddress,
    ImportHttpError,
    ImportInvalidUrl,
    ImportTimeout,
    ImportTooLarge,
    ImportTooManyRedirects,
    ImportUnresolvable,
    ImportUnsupportedScheme,
    TransientError,
)


@dataclass(frozen=True)
class FetchPolicy:
    max_bytes: int
    timeout_s: float
    max_redirects: int = 5
    allowed_cidrs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fetched:
    path: Path
    size: int
    sha256: str
    filename: str
    final_url: str


def _allowed(ip: ipaddress._BaseAddress, policy: FetchPolicy) -> bool:
    if any(ip in ipaddress.ip_network(c, strict=False) for c in policy.allowed_cidrs):
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local
                                 or ip.is_private or ip.is_unspecified)


def check_url(url: str, policy: FetchPolicy) -> tuple[str, int, str]:
    """Validate scheme, host and every resolved address; returns (host, port, pinned address)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ImportUnsupportedScheme("Only http and https URLs can be imported.")
    if not parts.hostname or parts.username or parts.password:
        raise ImportInvalidUrl("The URL needs a host and no credentials.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ImportUnresolvable("The URL's host does not resolve.") from None
    addrs = sorted({ipaddress.ip_address(i[4][0].split("%")[0]) for i in infos}, key=str)
    if not addrs or not all(_allowed(a, policy) for a in addrs):
        raise ImportForbiddenAddress("The URL points to a private, loopback or link-local address.")
    return parts.hostname, port, str(addrs[0])


def _pinned_transport(host: str, address: str) -> httpx.HTTPTransport:
    """A transport whose connections for ``host`` go to ``address`` (TLS still verifies ``host``)."""
    import httpcore

    pinned_host = host

    class _Backend(httpcore.SyncBackend):
        # httpcore calls this with keyword arguments: the parameter names must be its own
        def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
            return super().connect_tcp(address if host == pinned_host else host, port, timeout, local_address,
                                       socket_options)

    transport = httpx.HTTPTransport(retries=0)
    transport._pool._network_backend = _Backend()  # httpx exposes no public hook for this
    return transport


def fetch(url: str, dest_dir: Path, policy: FetchPolicy, name: str) -> Fetched:
    deadline = time.monotonic() + policy.timeout_s
    for _ in range(policy.max_redirects + 1):
        host, _port, address = check_url(url, policy)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ImportTimeout("The download took too long.")
        timeout = httpx.Timeout(min(30.0, remaining), read=min(60.0, remaining))
        with httpx.Client(transport=_pinned_transport(host, address), timeout=timeout,
                          follow_redirects=False, headers={"User-Agent": "clipdex-import/1"}) as client:
            try:
                with client.stream("GET", url) as resp:
                    if resp.status_code in (301, 302, 303, 307, 308):
                        location = resp.headers.get("location")
                        if not location:
                            raise ImportBadRedirect("A redirect had no target.")
                        url = urljoin(url, location)
                        continue
                    if resp.status_code >= 500:
                        raise TransientError(f"remote server answered {resp.status_code}")
                    if resp.status_code != 200:
                        raise ImportHttpError(f"The remote server answered {resp.status_code}.")
                    return _save(resp, dest_dir, policy, deadline, name, url)
            except httpx.TimeoutException:
                raise ImportTimeout("The download took too long.") from None
            except httpx.TransportError:
                raise TransientError("connection to the remote server failed") from None
    raise ImportTooManyRedirects("Too many redirects.")


def _save(resp: httpx.Response, dest_dir: Path, policy: FetchPolicy, deadline: float, name: str,
          url: str) -> Fetched:
    declared = resp.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > policy.max_bytes:
        raise ImportTooLarge("The remote file exceeds the upload limit.")
    path = dest_dir / name
    h, size = hashlib.sha256(), 0
    try:
        with open(path, "wb") as out:
            for chunk in resp.iter_bytes(1 << 20):
                size += len(chunk)
                if size > policy.max_bytes:
                    raise ImportTooLarge("The remote file exceeds the upload limit.")
                if time.monotonic() > deadline:
                    raise ImportTimeout("The download took too long.")
                out.write(chunk)
                h.update(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    filename = urlsplit(url).path.rsplit("/", 1)[-1][:200] or "import"
    return Fetched(path, size, h.hexdigest(), filename, url)
