"""The review web page: ``create_app`` builds the ASGI app, ``serve`` runs it with uvicorn.

Presenting and wiring only; the queries live in ``monitor.store.matches``.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from monitor.errors import AlreadyExists, ConfigError, ListenError, NotFound, StoreError
from monitor.review_links import TOKEN_ENV
from monitor.web import api, pages
from monitor.web.render import page
from monitor.web.security import Guard, is_loopback

if TYPE_CHECKING:
    from monitor.app import App

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
MIN_TOKEN_LENGTH = 16
MAX_BODY_BYTES = 64 * 1024  # forms here are a few fields
LISTEN_BACKLOG = 2048  # uvicorn's own default
STATIC = Path(__file__).resolve().parent / "static"

_SIGNED_LINK = "/judge/{article_id:int}/{expires:int}/{sig:str}"  # from alerts: review_links

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "check_binding", "create_app", "serve", "token_from_env"]


def token_from_env() -> str | None:
    """``MONITOR_WEB_TOKEN``, or ``None`` when unset or empty."""
    return os.environ.get(TOKEN_ENV) or None


def check_binding(*, host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token, or with a guessable one."""
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            f"web: {TOKEN_ENV} is too short ({len(token)} characters; use {MIN_TOKEN_LENGTH} or "
            "more, e.g. the output of: python -c 'import secrets; print(secrets.token_urlsafe())')"
        )
    if token is None and not is_loopback(host):
        raise ConfigError(
            f"web: refusing to listen on {host} without a token: set {TOKEN_ENV} (anyone who "
            "can reach the port could read and judge matches), or bind to 127.0.0.1"
        )


def create_app(*, app: App, token: str | None) -> Starlette:
    """The ASGI app over ``app.store``; with a token, every page but /healthz requires it."""
    routes = [
        Route("/", pages.matches, methods=["GET"], name="matches"),
        Route("/articles/{article_id:int}", pages.article, methods=["GET"], name="article"),
        Route("/articles/{article_id:int}/judgement", pages.judge, methods=["POST"]),
        Route("/feeds", pages.feeds, methods=["GET"], name="feeds"),
        Route("/feeds", pages.feed_add, methods=["POST"]),
        Route("/feeds/{feed_id:int}", pages.feed_action, methods=["POST"]),
        Route(_SIGNED_LINK, pages.judge_link, methods=["GET"]),
        Route(_SIGNED_LINK, pages.judge_link_confirmed, methods=["POST"]),
        Route("/login", pages.login_form, methods=["GET"]),
        Route("/login", pages.login, methods=["POST"]),
        Route("/logout", pages.logout, methods=["POST"]),
        Route("/feed.xml", api.atom_feed, methods=["GET"]),
        Route("/api/matches", api.api_matches, methods=["GET"]),
        Route("/healthz", api.healthz, methods=["GET"]),
        Route("/metrics", api.metrics, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    asgi = Starlette(
        routes=routes,
        middleware=[Middleware(Guard, token=token, sessions=app.store)],
        exception_handlers={
            NotFound: _store_error,
            AlreadyExists: _store_error,
            StoreError: _store_error,
            HTTPException: _http_error,
        },
        max_body_size=MAX_BODY_BYTES,
    )
    asgi.state.monitor = app
    asgi.state.token = token
    return asgi


STORE_STATUS = ((NotFound, 404), (AlreadyExists, 409))  # any other StoreError: 503


def _store_error(request: Request, exc: Exception) -> Response:
    """The store's typed error as its status code, with its own hint."""
    status = next((code for kind, code in STORE_STATUS if isinstance(exc, kind)), 503)
    if status == 503:
        log.error("web: %s", exc, extra={"path": request.url.path})
    hint = exc.hint if isinstance(exc, StoreError) else StoreError.hint
    if status == 404 and "text/html" in request.headers.get("accept", ""):
        return page(request, "error.html", status=404, code=404, detail=str(exc))
    return PlainTextResponse(f"{exc}\nhint: {hint}", status_code=status)


def _http_error(request: Request, exc: Exception) -> Response:
    """Browsers get the site's own error page (404 and the rest); scripts get plain text."""
    assert isinstance(exc, HTTPException)
    if "text/html" not in request.headers.get("accept", ""):
        return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)
    return page(
        request, "error.html", status=exc.status_code, code=exc.status_code, detail=exc.detail
    )


def serve(*, app: App, host: str, port: int, token: str | None) -> None:
    """Run the page with uvicorn until interrupted. Raises ``ConfigError`` on an unsafe binding
    and ``ListenError`` when the port cannot be opened, before saying it serves."""
    import uvicorn

    check_binding(host=host, token=token)
    sock = listen(host=host, port=port)
    log.info("web: serving on http://%s:%d/", host if ":" not in host else f"[{host}]", port)
    config = uvicorn.Config(
        create_app(app=app, token=token),
        host=host,
        port=port,
        log_config=None,  # keep the CLI's logging set-up
        server_header=False,
    )
    uvicorn.Server(config).run(sockets=[sock])


def listen(*, host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port``, or ``ListenError`` saying why not."""
    where = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ListenError(f"web: cannot listen on {where}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(LISTEN_BACKLOG)
    except OSError as exc:
        sock.close()
        raise _listen_error(exc, where=where, port=port) from None
    return sock


def _listen_error(exc: OSError, *, where: str, port: int) -> ListenError:
    if exc.errno == errno.EADDRINUSE:
        return ListenError(f"web: cannot listen on {where}: the port is in use")
    if exc.errno == errno.EACCES:
        return ListenError(
            f"web: cannot listen on {where}: permission denied",
            hint=f"ports below 1024 need privileges; pass --port above 1023 (not {port})",
        )
    return ListenError(
        f"web: cannot listen on {where}: {exc.strerror or exc}",
        hint="pass --host with an address of this machine (127.0.0.1 for this machine only)",
    )
