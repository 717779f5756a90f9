"""HTTP policies of the fetcher: unit cases through httpx.MockTransport, plus real sockets."""

from __future__ import annotations

import contextlib
import gzip
import shutil
import ssl
import subprocess
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from monitor.errors import (
    BlockedURLError,
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    NetworkError,
    TooLargeError,
    TooManyRedirectsError,
)
from monitor.fetch import Fetcher, is_public_address
from tests.httpserver import FeedServer, Route, gzip_bomb

Handler = Callable[[httpx.Request], httpx.Response]


def fetcher(handler: Handler, **options: object) -> Fetcher:
    return Fetcher(
        user_agent="monitor-test/1",
        client=httpx.Client(transport=httpx.MockTransport(handler)),
        resolver=lambda host: ["93.184.216.34"],
        **options,  # type: ignore[arg-type]
    )


def test_sends_user_agent_and_conditional_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(304, headers={"ETag": '"v2"', "Cache-Control": "max-age=600"})

    response = fetcher(handler).fetch("https://example.org/feed", etag='"v1"', last_modified="Mon")
    assert response.not_modified and response.etag == '"v2"' and response.max_age == 600
    assert seen[0].headers["User-Agent"] == "monitor-test/1"
    assert seen[0].headers["If-None-Match"] == '"v1"'
    assert seen[0].headers["If-Modified-Since"] == "Mon"


STATUS_CASES = [
    (500, {}, None),
    (429, {"Retry-After": "90"}, 90.0),
    (503, {"Retry-After": "soon"}, None),
    (410, {}, None),
]


@pytest.mark.parametrize(("status", "headers", "retry_after"), STATUS_CASES)
def test_error_statuses_carry_retry_after(
    status: int, headers: dict[str, str], retry_after: float | None
) -> None:
    f = fetcher(lambda r: httpx.Response(status, headers=headers))
    with pytest.raises(HTTPStatusError) as info:
        f.fetch("https://example.org/feed")
    assert (info.value.status, info.value.retry_after) == (status, retry_after)


def test_redirects_are_followed_up_to_the_limit() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        hop = int(request.url.path.strip("/") or 0)
        return httpx.Response(302, headers={"Location": f"/{hop + 1}"})

    with pytest.raises(TooManyRedirectsError, match="more than 3 redirects"):
        fetcher(handler, max_redirects=3).fetch("https://example.org/0")


def test_redirect_to_a_private_address_is_refused() -> None:
    f = Fetcher(
        user_agent="t",
        client=httpx.Client(
            transport=httpx.MockTransport(
                lambda r: httpx.Response(301, headers={"Location": "http://internal.example/"})
            )
        ),
        resolver=lambda host: ["10.0.0.5"] if host == "internal.example" else ["93.184.216.34"],
    )
    with pytest.raises(BlockedURLError, match=r"non-public address 10\.0\.0\.5"):
        f.fetch("https://example.org/feed")


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.org/x", "gopher://x/", "/relative"]
)
def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(BlockedURLError, match="only http and https"):
        fetcher(lambda r: httpx.Response(200)).fetch(url)


ADDRESSES = [
    ("8.8.8.8", True),
    ("127.0.0.1", False),
    ("10.1.2.3", False),
    ("192.168.0.1", False),
    ("169.254.169.254", False),
    ("::1", False),
    ("fe80::1", False),
    ("::ffff:127.0.0.1", False),
    ("2001:4860:4860::8888", True),
    ("0.0.0.0", False),
    ("224.0.0.1", False),
]


@pytest.mark.parametrize(("address", "public"), ADDRESSES)
def test_address_policy(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_declared_oversized_body_is_refused() -> None:
    f = fetcher(lambda r: httpx.Response(200, content=b"x" * 2000), max_bytes=1000)
    with pytest.raises(TooLargeError, match="over the 1000-byte limit"):
        f.fetch("https://example.org/big")


# --- real sockets ---------------------------------------------------------------------------


_opened: list[Fetcher] = []


@pytest.fixture(autouse=True)
def _close_real_fetchers() -> Iterator[None]:
    """Each test's fetchers are closed when it ends (an unclosed socket is a warning, and
    warnings are errors here)."""
    yield
    while _opened:
        _opened.pop().close()


def real_fetcher(**options: object) -> Fetcher:
    made = Fetcher(user_agent="monitor-test/1", allow_private_networks=True, **options)  # type: ignore[arg-type]
    _opened.append(made)
    return made


def test_gzip_bomb_stops_at_the_cap(server: FeedServer) -> None:
    server.routes["/bomb"] = Route(
        body=gzip_bomb(size=50_000_000), headers={"Content-Encoding": "gzip"}
    )
    with pytest.raises(TooLargeError):
        real_fetcher(max_bytes=1_000_000).fetch(server.url("/bomb"))


FEED = b"<rss version='2.0'><channel><title>Wheat</title></channel></rss>" * 50


def _deflate(data: bytes, *, wbits: int) -> bytes:
    packer = zlib.compressobj(wbits=wbits)
    return packer.compress(data) + packer.flush()


# (Content-Encoding, body as sent): each must come back as FEED
ENCODINGS = [
    pytest.param("gzip", gzip.compress(FEED), id="gzip"),
    pytest.param("x-gzip", gzip.compress(FEED), id="x-gzip"),
    pytest.param("deflate", _deflate(FEED, wbits=zlib.MAX_WBITS), id="deflate-zlib"),
    pytest.param("deflate", _deflate(FEED, wbits=-zlib.MAX_WBITS), id="deflate-raw"),
    pytest.param("identity", FEED, id="identity"),
]


@pytest.mark.parametrize(("encoding", "body"), ENCODINGS)
def test_compressed_bodies_are_inflated_on_a_real_server(
    server: FeedServer, encoding: str, body: bytes
) -> None:
    server.routes["/feed"] = Route(body=body, headers={"Content-Encoding": encoding})
    assert real_fetcher().fetch(server.url("/feed")).content == FEED


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        pytest.param("br", b"\x0b\x02\x80hello\x03", id="unasked-encoding"),
        pytest.param("gzip", b"\x1f\x8b not gzip at all", id="corrupt-gzip"),
    ],
)
def test_undecodable_bodies_are_a_clear_network_error(
    server: FeedServer, encoding: str, body: bytes
) -> None:
    server.routes["/feed"] = Route(body=body, headers={"Content-Encoding": encoding})
    with pytest.raises(NetworkError, match=r"fetch: (unsupported content encoding|cannot decode)"):
        real_fetcher().fetch(server.url("/feed"))


def test_only_encodings_it_can_bound_are_asked_for() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"ok")

    fetcher(handler).fetch("https://example.org/feed")
    assert seen[0].headers["Accept-Encoding"] == "gzip, deflate"


def test_a_gzip_bomb_never_inflates_past_the_cap_in_memory(server: FeedServer) -> None:
    server.routes["/bomb"] = Route(
        body=gzip_bomb(size=200_000_000), headers={"Content-Encoding": "gzip"}
    )
    tracemalloc.start()
    try:
        with pytest.raises(TooLargeError):
            real_fetcher(max_bytes=1_000_000).fetch(server.url("/bomb"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000, f"peak {peak / 1e6:.0f} MB while reading a 1 MB-capped body"


def test_a_body_that_drips_times_out(server: FeedServer) -> None:
    server.routes["/drip"] = Route(body=b"x" * 100, drip=0.1)
    with pytest.raises(FetchTimeoutError):
        real_fetcher(timeout=1.0).fetch(server.url("/drip"))


def test_redirect_loop_on_a_real_server(server: FeedServer) -> None:
    server.routes["/a"] = Route(status=302, headers={"Location": "/b"})
    server.routes["/b"] = Route(status=302, headers={"Location": "/a"})
    with pytest.raises(TooManyRedirectsError):
        real_fetcher().fetch(server.url("/a"))


def test_loopback_refused_without_permission(server: FeedServer) -> None:
    server.routes["/x"] = Route(body=b"ok")
    with pytest.raises(BlockedURLError):
        Fetcher(user_agent="t").fetch(server.url("/x"))
    assert server.hits() == 0


def test_errors_are_fetch_errors_with_hints() -> None:
    assert issubclass(TooLargeError, FetchError) and TooLargeError.hint


# --- the address connected to is the address checked (DNS rebinding) -------------------------

PUBLIC = "93.184.215.14"


class ScriptedResolver:
    """Answers each lookup of a host with the next of its scripted answers (the last repeats),
    and notes every lookup."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        script = self.answers[host]
        return script[min(self.asked.count(host), len(script)) - 1]


# (case, resolver script for "localhost", what the fetch must raise or None)
REBINDING = [
    # the name's real resolution is 127.0.0.1: checking one lookup and letting the connection
    # resolve again reached the server; now the socket goes to the checked public address
    ("public to the check, loopback after", [[PUBLIC], ["127.0.0.1"]], None),
    ("one public and one loopback address", [[PUBLIC, "127.0.0.1"]], BlockedURLError),
    ("loopback only", [["127.0.0.1"]], BlockedURLError),
]


@pytest.mark.parametrize(
    ("script", "raises"), [c[1:] for c in REBINDING], ids=[c[0] for c in REBINDING]
)
def test_a_rebinding_name_never_reaches_the_loopback_server(
    server: FeedServer, script: list[list[str]], raises: type[Exception] | None
) -> None:
    server.routes["/internal"] = Route(body=b"internal text")
    resolver = ScriptedResolver({"localhost": script})
    guarded = Fetcher(user_agent="t", timeout=1.0, resolver=resolver)
    _opened.append(guarded)
    url = f"http://localhost:{server.httpd.server_address[1]}/internal"
    with pytest.raises(raises or FetchError) if raises else contextlib.suppress(FetchError):
        guarded.fetch(url)
    assert server.hits() == 0
    assert resolver.asked == ["localhost"], "one lookup per connection, checked and used"


def test_allowed_fetches_connect_to_the_resolved_address_with_the_host_name(
    server: FeedServer,
) -> None:
    """A name the system cannot resolve works through the injected resolver, at every redirect
    hop, and the server sees the host name in Host (the socket went to the pinned address)."""
    port = server.httpd.server_address[1]
    server.routes["/a"] = Route(status=302, headers={"Location": f"http://b.test:{port}/feed"})
    server.routes["/feed"] = Route(body=FEED)
    resolver = ScriptedResolver({"a.test": [["127.0.0.1"]], "b.test": [["127.0.0.1"]]})
    response = real_fetcher(resolver=resolver).fetch(f"http://a.test:{port}/a")
    assert (response.content, response.url) == (FEED, f"http://b.test:{port}/feed")
    assert [r.headers["Host"] for r in server.requests] == [f"a.test:{port}", f"b.test:{port}"]
    assert resolver.asked == ["a.test", "b.test"]


@pytest.fixture
def tls_server(tmp_path: Path, server: FeedServer) -> Iterator[tuple[FeedServer, Path, list[str]]]:
    """The feed server behind TLS with a self-signed certificate for ``feeds.test`` (openssl
    CLI); yields it, the certificate (to trust) and the server names clients asked for (SNI)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    names = ["-subj", "/CN=feeds.test", "-addext", "subjectAltName=DNS:feeds.test"]
    files = ["-keyout", str(key), "-out", str(cert)]
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", *names, *files],
        check=True,
        capture_output=True,
    )
    asked: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _sock, name, _ctx: asked.append(name or "")  # type: ignore[assignment,misc]
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    yield server, cert, asked


# (case, the host name in the URL, what the fetch must raise or None)
TLS_CASES = [
    ("name on the certificate", "feeds.test", None),
    ("name not on the certificate", "other.test", NetworkError),
]


@pytest.mark.parametrize(
    ("host", "raises"), [c[1:] for c in TLS_CASES], ids=[c[0] for c in TLS_CASES]
)
def test_tls_to_a_pinned_address_verifies_the_host_name(
    tls_server: tuple[FeedServer, Path, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    host: str,
    raises: type[Exception] | None,
) -> None:
    server, cert, names = tls_server
    server.routes["/feed"] = Route(body=FEED)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test certificate (httpx reads it)
    resolver = ScriptedResolver({host: [["127.0.0.1"]]})
    url = f"https://{host}:{server.httpd.server_address[1]}/feed"
    if raises is None:
        assert real_fetcher(resolver=resolver).fetch(url).content == FEED
    else:
        with pytest.raises(raises, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
            real_fetcher(resolver=resolver).fetch(url)
    assert names == [host] and resolver.asked == [host]
