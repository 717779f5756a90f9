"""Typed errors, one subtree per stage. Each explains itself and carries a hint for the operator.

    MonitorError
    ├── ConfigError              invalid or missing configuration (exit code 2)
    ├── FetchError               anything that kept us from getting a response body
    │   ├── BlockedURLError      scheme not allowed, or host resolves to a private address
    │   ├── FetchTimeoutError    connect/read timeout, or the whole transfer took too long
    │   ├── NetworkError         DNS failure, refused or reset connection, protocol error
    │   ├── TooManyRedirectsError
    │   ├── TooLargeError        body larger than fetch.max_bytes
    │   └── HTTPStatusError      the server answered 4xx/5xx (carries status, Retry-After)
    ├── FeedError
    │   └── NotAFeedError        the body is not RSS/Atom (HTML page, garbage, empty)
    ├── StoreError               the database refused, or what was asked for is not there
    │   ├── SchemaBehindError    the schema is older than this version: `monitor db upgrade`
    │   ├── NotFound             no row with that id or name (web: 404)
    │   ├── AlreadyExists        a row with that name or URL is already there (web: 409)
    │   ├── Unavailable          the database cannot be reached or failed (web: 503)
    │   └── ReadOnly             the database cannot be written: a read-only file, folder or
    │                            server; commands that only read still work (web: 503)
    ├── ListenError              `monitor serve` cannot open its port (in use, not allowed)
    └── LinkError                a signed review link that is altered or expired

Stages raise these; the pipeline records ``str(exc)`` on the feed row; the CLI prints
``exc.hint`` where there is one.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base class of every error the monitor raises on purpose."""

    hint: str = ""


class ConfigError(MonitorError):
    hint = "check the configuration file and MONITOR_* environment variables"


class FetchError(MonitorError):
    """A URL could not be fetched."""

    hint = "the feed will be retried later with back-off"

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(f"{message} ({url})")
        self.url = url


class BlockedURLError(FetchError):
    hint = "set fetch.allow_private_networks = true to allow private and loopback addresses"


class FetchTimeoutError(FetchError):
    hint = "the server is slow or unreachable; raise fetch.timeout if it is just slow"


class NetworkError(FetchError):
    pass


class TooManyRedirectsError(FetchError):
    pass


class TooLargeError(FetchError):
    hint = "raise fetch.max_bytes if this source really publishes such large documents"


class HTTPStatusError(FetchError):
    def __init__(self, *, url: str, status: int, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}", url=url)
        self.status = status
        self.retry_after = retry_after


class FeedError(MonitorError):
    hint = "check that the feed URL points at an RSS or Atom document"


class NotAFeedError(FeedError):
    pass


class StoreError(MonitorError):
    """Raised by the store; the CLI prints ``hint`` under the message, the web maps the subclass
    to a status code."""

    hint = "check storage.url and that the database is reachable"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class NotFound(StoreError):
    hint = "`monitor matches list` shows article ids, `monitor feeds list` feed names"


class AlreadyExists(StoreError):
    hint = "`monitor feeds list` shows what is there; pick another name or URL"


class Unavailable(StoreError):
    hint = "check storage.url and that the database is reachable"


class ReadOnly(StoreError):
    hint = (
        "the database cannot be written (read-only file, folder or server): commands that only "
        "read work; make it writable for this one"
    )


class SchemaBehindError(StoreError):
    hint = ""  # the message says what to run: one line


class ListenError(MonitorError):
    """``monitor serve`` could not open its listening socket."""

    hint = "another program (or another `monitor serve`) listens there: stop it or pass --port"

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint or self.hint


class LinkError(MonitorError):
    hint = "open the review page and judge the article there"
