"""Every HTTP request the monitor makes, and the one place HTTP outcomes are interpreted.

Timeouts (per operation and for the whole transfer), a cap on the decoded body size, a redirect
limit, the user agent, conditional GET, Cache-Control max-age and Retry-After, and the address
policy: by default URLs whose host resolves to a private, loopback, link-local or otherwise
non-public address are refused, at every redirect hop.

The address check is made on the very address the connection uses (no DNS rebinding between check
and connect): the fetcher's own transport resolves each host once, when it opens a connection,
checks every address, and opens the socket to one of those checked addresses, while the Host
header and the TLS server name stay the host name. A client passed in (tests, the fault lab) has
its own transport, so there the addresses are checked before each request instead.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from monitor.errors import (
    BlockedURLError,
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    NetworkError,
    TooLargeError,
    TooManyRedirectsError,
)
from monitor.models import Response

DEFAULT_TIMEOUT = 20.0
DEFAULT_MAX_BYTES = 5_000_000
DEFAULT_MAX_REDIRECTS = 5
LIMITS = httpx.Limits(max_connections=20)  # httpx's keep-alive defaults: 20, idle for 5 s
ALLOWED_SCHEMES = ("http", "https")
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
# The encodings we inflate ourselves (see _decoded); asking for exactly these keeps servers from
# choosing one we could not bound.
ACCEPT_ENCODING = "gzip, deflate"
GZIP_OR_ZLIB = zlib.MAX_WBITS | 32  # either header, detected
RAW_DEFLATE = -zlib.MAX_WBITS  # "deflate" as some servers send it, without the zlib header
_MAX_AGE = re.compile(r"max-age\s*=\s*(\d+)", re.IGNORECASE)

Resolver = Callable[[str], list[str]]


def resolve_host(host: str) -> list[str]:
    """All addresses a host name resolves to (the system resolver)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise NetworkError(f"fetch: cannot resolve host {host!r}: {exc}", url=host) from exc
    return sorted({str(info[4][0]) for info in infos})


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class AddressPolicy:
    """Where a host may be reached: resolved once, every address checked against the policy."""

    def __init__(self, *, resolver: Resolver, allow_private_networks: bool) -> None:
        self.resolver = resolver
        self.allow_private_networks = allow_private_networks

    def addresses(self, host: str, *, url: str) -> list[str]:
        """All addresses of ``host``, each one allowed; else ``BlockedURLError``."""
        addresses = self.resolver(host)  # an address literal resolves to itself
        if not addresses:
            raise NetworkError(f"fetch: host {host!r} resolves to no address", url=url)
        if self.allow_private_networks:
            return addresses
        for address in addresses:
            if not is_public_address(address):
                raise BlockedURLError(
                    f"fetch: refused, {host} resolves to non-public address {address}", url=url
                )
        return addresses


class PinnedBackend(httpcore.NetworkBackend):
    """Opens each connection to an address the policy has just checked, never re-resolving: the
    host name httpcore asks for is resolved by the policy and the socket goes to that address.
    httpcore still takes the TLS server name (and httpx the Host header) from the URL."""

    def __init__(self, *, policy: AddressPolicy) -> None:
        self.policy = policy
        self.inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        failure: Exception | None = None
        for address in self.policy.addresses(host, url=f"{host}:{port}"):
            try:
                return self.inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc  # try the host's next address, as the system would
        assert failure is not None  # addresses() never returns an empty list
        raise failure

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class PinnedTransport(httpx.HTTPTransport):
    """httpx's own transport over a ``PinnedBackend`` (httpx has no public hook for a network
    backend, so the connection pool is replaced right after construction)."""

    def __init__(self, *, policy: AddressPolicy, limits: httpx.Limits) -> None:
        super().__init__(limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(policy=policy),
        )


class Fetcher:
    """A small HTTP client with the monitor's policies. Pass ``client`` to inject a transport;
    without one, connections go only to the addresses the policy checked (see the module doc)."""

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        user_agent: str,
        allow_private_networks: bool = False,
        client: httpx.Client | None = None,
        resolver: Resolver = resolve_host,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.policy = AddressPolicy(
            resolver=resolver, allow_private_networks=allow_private_networks
        )
        self.pins_addresses = client is None
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(timeout),
            transport=PinnedTransport(policy=self.policy, limits=LIMITS),
        )
        self.client.headers["User-Agent"] = user_agent
        self.client.headers["Accept-Encoding"] = ACCEPT_ENCODING
        self.client.follow_redirects = False

    def close(self) -> None:
        self.client.close()

    def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> Response:
        """GET ``url`` following redirects by hand; a 304 comes back as ``not_modified``."""
        headers = _conditional_headers(etag=etag, last_modified=last_modified)
        deadline = time.monotonic() + self.timeout
        for _hop in range(self.max_redirects + 1):
            self.check_url(url)
            with self._translate_errors(url), self.client.stream("GET", url, headers=headers) as r:
                location = r.headers.get("location")
                if r.status_code in REDIRECT_STATUSES and location:
                    url = urljoin(str(r.url), location)
                    continue
                return self._interpret(r, deadline=deadline)
        raise TooManyRedirectsError(f"fetch: more than {self.max_redirects} redirects", url=url)

    def check_url(self, url: str) -> None:
        """Refuse schemes other than http(s); with an injected transport, which the fetcher
        cannot pin, also refuse (unless allowed) hosts with a non-public address."""
        parts = urlsplit(url)
        if parts.scheme.lower() not in ALLOWED_SCHEMES or not parts.hostname:
            raise BlockedURLError("fetch: only http and https URLs are fetched", url=url)
        if not self.pins_addresses:
            self.policy.addresses(parts.hostname, url=url)

    def _interpret(self, r: httpx.Response, *, deadline: float) -> Response:
        if r.status_code == 304:
            return _response(r, not_modified=True)
        if r.status_code >= 400:
            raise HTTPStatusError(
                url=str(r.url), status=r.status_code, retry_after=_retry_after(r.headers)
            )
        return _response(r, content=self._read_capped(r, deadline=deadline))

    def _read_capped(self, r: httpx.Response, *, deadline: float) -> bytes:
        declared = r.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise TooLargeError(
                f"fetch: body of {declared} bytes is over the {self.max_bytes}-byte limit",
                url=str(r.url),
            )
        chunks: list[bytes] = []
        size = 0
        for chunk in _decoded(r, limit=self.max_bytes):
            size += len(chunk)
            if size > self.max_bytes:
                raise TooLargeError(
                    f"fetch: body is over the {self.max_bytes}-byte limit", url=str(r.url)
                )
            if time.monotonic() > deadline:
                raise FetchTimeoutError(
                    f"fetch: transfer took longer than {self.timeout:g}s", url=str(r.url)
                )
            chunks.append(chunk)
        return b"".join(chunks)

    @contextmanager
    def _translate_errors(self, url: str) -> Iterator[None]:
        try:
            yield
        except FetchError:
            raise
        except httpx.TimeoutException as exc:
            raise FetchTimeoutError(f"fetch: timed out after {self.timeout:g}s", url=url) from exc
        except httpx.TooManyRedirects as exc:
            raise TooManyRedirectsError("fetch: too many redirects", url=url) from exc
        except httpx.DecodingError as exc:
            raise NetworkError(f"fetch: cannot decode body: {exc}", url=url) from exc
        except (httpx.TransportError, httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise NetworkError(f"fetch: {_describe(exc)}", url=url) from exc


def _decoded(r: httpx.Response, *, limit: int) -> Iterator[bytes]:
    """The body decompressed here rather than by httpx, never more than ``limit + 1`` bytes a
    step: one network chunk of a gzip bomb inflates to ~1000× its size, and the caller's cap
    must see it before it is in memory."""
    if r.is_stream_consumed:  # a response built in memory (httpx.MockTransport): decoded already
        yield r.content
        return
    encoding = r.headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        yield from r.iter_raw()
        return
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise NetworkError(f"fetch: unsupported content encoding {encoding!r}", url=str(r.url))
    inflater = zlib.decompressobj(GZIP_OR_ZLIB)
    may_be_raw = encoding == "deflate"  # until the first bytes inflate, it may lack its header
    for data in r.iter_raw():
        while data:
            try:
                out = inflater.decompress(data, limit + 1)
            except zlib.error as exc:
                if may_be_raw:
                    inflater, may_be_raw = zlib.decompressobj(RAW_DEFLATE), False
                    continue
                raise NetworkError(f"fetch: cannot decode body: {exc}", url=str(r.url)) from exc
            may_be_raw = False
            yield out
            data = inflater.unconsumed_tail


def _describe(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {text}"
    return f"network error: {text}"


def _conditional_headers(*, etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _response(r: httpx.Response, *, content: bytes = b"", not_modified: bool = False) -> Response:
    return Response(
        url=str(r.url),
        status=r.status_code,
        content=content,
        content_type=r.headers.get("content-type"),
        etag=r.headers.get("etag"),
        last_modified=r.headers.get("last-modified"),
        max_age=_max_age(r.headers.get("cache-control")),
        not_modified=not_modified,
    )


def _max_age(cache_control: str | None) -> float | None:
    match = _MAX_AGE.search(cache_control or "")
    return float(match.group(1)) if match else None


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)
