"""One careful HTTP GET for link previews, safe against server-side request forgery.

A preview makes the server fetch a URL a member typed, so every hop is checked: scheme,
no credentials, a resolved address that is public (every address the name has), an
ordinary port. We resolve the name once and connect to the very address we checked, so a
name that answers "public" to the check and "127.0.0.1" to a second lookup (DNS rebinding)
gains nothing. Redirects are followed by hand because each Location is a new URL that must
pass every check again. One deadline covers the whole fetch; a watchdog shuts the socket
when it passes, so a server that drips bytes cannot hold a worker.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import logging
import re
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

import urllib3.exceptions
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection

try:
    import certifi

    CA_CERTS: str | None = certifi.where()
except ImportError:  # pragma: no cover - then urllib3 loads the system's store
    CA_CERTS = None

logger = logging.getLogger(__name__)

USER_AGENT = "Tongzhou link preview (+https://github.com/tongzhou)"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
URL_SAFE = "/%:@!$&'()*+,;=-._~"


class FetchRefused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Fetched:
    url: str
    content_type: str
    charset: str | None
    body: bytes


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # ASCII, as the certificate and Host header must name it
    port: int
    ip: str  # the checked address we connect to
    host_header: str
    path: str


class _Deadline:
    """The clock for a whole fetch, and a watchdog that cuts the connection when it runs out."""

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._conn: HTTPConnection | None = None
        self.expired = False
        self._timer = threading.Timer(max(seconds, 0.0), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        left = self._end - time.monotonic()
        if left <= 0 or self.expired:
            raise FetchRefused("timeout")
        return left

    def watch(self, conn: HTTPConnection | None) -> None:
        with self._lock:
            self._conn = conn

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sock = self._conn.sock if self._conn is not None else None
            if sock is not None:  # wakes a blocked read, TLS handshake included
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()
        self.watch(None)


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4-mapped, 6to4, Teredo and NAT64 addresses lead to an IPv4 host: judge that one.
        embedded = [
            v4 for v4 in (ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())) if v4 is not None
        ]
        if ip in NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if embedded:
            return all(_public(str(v4)) for v4 in embedded)
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def _resolve(host: str, port: int, deadline: _Deadline) -> list[str]:
    """getaddrinfo has no timeout of its own, so it runs in a thread we stop waiting for."""
    box: list[list[str] | None] = []

    def run() -> None:
        try:
            box.append(
                [str(i[4][0]) for i in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
            )
        except (OSError, UnicodeError):
            box.append(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(deadline.remaining())
    if not box:
        raise FetchRefused("timeout")
    if not box[0]:
        raise FetchRefused("dns")
    return box[0]


def _check(url: str, deadline: _Deadline) -> _Target:
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise FetchRefused("scheme")
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            raise FetchRefused("credentials")
        port = parts.port if parts.port is not None else (443 if scheme == "https" else 80)
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except ValueError:  # UnicodeError included
        raise FetchRefused("bad_url") from None
    if not re.fullmatch(r"[a-z0-9._:-]+", host):
        raise FetchRefused("bad_url")
    bracketed = f"[{host}]" if ":" in host else host
    allowed = f"{bracketed}:{port}" == str(settings.LINK_PREVIEW_ALLOW_HOST).strip().lower()
    addresses = _resolve(host, port, deadline)
    if not allowed:
        if not all(_public(a) for a in addresses):
            raise FetchRefused("private_address")
        if port not in (80, 443):
            raise FetchRefused("port")
    ip = ipaddress.ip_address(addresses[0].split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    default_port = port == (443 if scheme == "https" else 80)
    path = quote(parts.path or "/", safe=URL_SAFE)
    if parts.query:
        path += "?" + quote(parts.query, safe=URL_SAFE + "?")
    return _Target(
        scheme, host, port, str(ip), bracketed if default_port else f"{bracketed}:{port}", path
    )


def _content_type(header: str) -> tuple[str, str | None]:
    media, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip("\"'").lower() or None
    return media.strip().lower(), charset


def _get(
    url: str, target: _Target, accept: tuple[str, ...], max_bytes: int, deadline: _Deadline
) -> Fetched | str:
    """One request to the pinned address: the result, or the next URL to try."""
    conn: HTTPConnection
    if target.scheme == "https":
        # server_hostname gives SNI and lets ssl check the certificate against the real name
        # while the TCP connection goes to the pinned IP.
        conn = HTTPSConnection(
            target.ip,
            target.port,
            timeout=deadline.remaining(),
            server_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=CA_CERTS,
        )
    else:
        conn = HTTPConnection(target.ip, target.port, timeout=deadline.remaining())
    deadline.watch(conn)
    try:
        conn.connect()
        headers = {
            "Host": target.host_header,
            "User-Agent": USER_AGENT,
            "Accept": ", ".join(accept),
            "Accept-Encoding": "identity",  # sizes we count are sizes we keep
        }
        conn.request("GET", target.path, headers=headers, preload_content=False)
        conn.timeout = deadline.remaining()
        resp = conn.getresponse()
        if resp.status in REDIRECTS:
            location = resp.headers.get("Location")
            if not location:
                raise FetchRefused("status")
            try:
                return urljoin(url, location.strip())
            except ValueError:
                raise FetchRefused("bad_url") from None
        if not 200 <= resp.status < 300:
            raise FetchRefused("status")
        media, charset = _content_type(resp.headers.get("Content-Type", ""))
        encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
        if media not in accept or encoding not in ("", "identity"):
            raise FetchRefused("content_type")
        length = resp.headers.get("Content-Length", "")
        if length.strip().isdigit() and int(length) > max_bytes:
            raise FetchRefused("too_large")
        body = bytearray()
        while True:
            if conn.sock is not None:
                conn.sock.settimeout(deadline.remaining())
            chunk = resp.read1(65536, decode_content=False)
            if not chunk:
                break
            body += chunk
            if len(body) > max_bytes:
                raise FetchRefused("too_large")
        deadline.remaining()  # a watchdog shutdown reads as end of body
        return Fetched(url, media, charset, bytes(body))
    except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
        # urllib3's NewConnectionError (a refused connection) subclasses its TimeoutError.
        timed_out = isinstance(exc, TimeoutError | urllib3.exceptions.TimeoutError) and not (
            isinstance(exc, urllib3.exceptions.NewConnectionError)
        )
        raise FetchRefused("timeout" if timed_out or deadline.expired else "connection") from None
    finally:
        deadline.watch(None)
        conn.close()


def fetch(url: str, *, accept: tuple[str, ...], max_bytes: int) -> Fetched:
    """GET url for a preview, or raise FetchRefused; never connects anywhere private."""
    deadline = _Deadline(float(settings.LINK_PREVIEW_TIMEOUT))
    url = url.strip()
    try:
        for _hop in range(int(settings.LINK_PREVIEW_MAX_REDIRECTS) + 1):
            result = _get(url, _check(url, deadline), accept, max_bytes, deadline)
            if isinstance(result, Fetched):
                return result
            url = result
        raise FetchRefused("too_many_redirects")
    except FetchRefused as exc:
        logger.debug("link preview fetch refused: %s", exc.reason)
        raise
    finally:
        deadline.cancel()
