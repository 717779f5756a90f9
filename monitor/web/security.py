"""Who may use the page, and from where.

* Without a token the page only answers requests addressed to a loopback name (``127.0.0.1``,
  ``localhost``, ``[::1]``): a web page elsewhere cannot reach it through DNS rebinding.
* With a token every request except ``/healthz``, ``/login``, ``/static/`` and signed alert links
  (``/judge/…``, checked by their own signature) must carry it:
  ``Authorization: Bearer <token>``, or the session cookie that the login form sets. The cookie
  holds a random session id only; the database holds a keyed hash of it (under the token) with
  an expiry. Logout revokes the session, an expired one is refused, and a new token voids all.
* State-changing requests are POSTs; they are refused when the browser says they come from
  another site (``Sec-Fetch-Site``, ``Origin``), and forms carry a CSRF token that must match
  the CSRF cookie (double submit).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from monitor.models import utcnow

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_COOKIE = "monitor_session"
CSRF_COOKIE = "monitor_csrf"
CSRF_FIELD = "csrf"
SESSION_LIFETIME = timedelta(days=30)
MAX_SESSION_ID = 100  # characters; a longer cookie is no session id of ours
PUBLIC_PATHS = ("/healthz", "/login", "/static/")
SIGNED_PREFIX = "/judge/"  # alert links: their signature is the permission (monitor.review_links)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CROSS_SITE = frozenset({"cross-site", "same-site"})
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",  # no-referrer would make browsers send "Origin: null"
    "x-frame-options": "DENY",
}


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IP literal (``127.0.0.0/8``, ``::1``)."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class Sessions(Protocol):
    """Where sign-in sessions live (``monitor.store.Store``)."""

    def add_web_session(self, *, key: str, now: datetime, expires_at: datetime) -> None: ...
    def web_session_valid(self, *, key: str, now: datetime) -> bool: ...
    def revoke_web_session(self, *, key: str) -> None: ...


def session_key(session_id: str, *, token: str) -> str:
    """What the database holds for a session: its id hashed under the token."""
    return hmac.new(token.encode(), session_id.encode(), hashlib.sha256).hexdigest()


def _cookie_key(request: Request, *, token: str) -> str | None:
    session_id = request.cookies.get(SESSION_COOKIE, "")
    if not session_id or len(session_id) > MAX_SESSION_ID:
        return None
    return session_key(session_id, token=token)


def is_authenticated(request: Request, *, token: str | None, sessions: Sessions) -> bool:
    """No token configured, the bearer token, or a live session cookie (this reads the
    database: call it off the event loop)."""
    if token is None or has_bearer(request, token=token):
        return True
    key = _cookie_key(request, token=token)
    return key is not None and sessions.web_session_valid(key=key, now=utcnow())


def has_bearer(request: Request, *, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)


def safe_next(target: str | None) -> str:
    """A redirect target on this site only (``/path``), else the matches page."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def csrf_token(request: Request) -> str:
    """The CSRF token for forms on this page (set by the ``Guard``)."""
    return str(request.state.csrf)


async def checked_form(request: Request, *, token: str | None) -> FormData:
    """The POSTed form, after checking its CSRF token (bearer-authenticated clients are exempt)."""
    form = await request.form()
    if token is not None and has_bearer(request, token=token):
        return form
    sent = str(form.get(CSRF_FIELD) or "")
    expected = request.cookies.get(CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(sent, expected):
        raise HTTPException(403, "web: the form is stale or came from another site; reload it")
    return form


class Guard:
    """ASGI middleware: host check, authentication, cross-site POSTs, CSRF cookie, headers."""

    def __init__(self, app: ASGIApp, *, token: str | None, sessions: Sessions) -> None:
        self.app = app
        self.token = token
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refusal = await run_in_threadpool(self.refusal, request)
        if refusal is not None:
            refusal.headers.update(SECURITY_HEADERS)
            await refusal(scope, receive, send)
            return
        cookie = request.cookies.get(CSRF_COOKIE)
        request.state.csrf = cookie or secrets.token_urlsafe(32)
        await self.app(scope, receive, _header_sender(send, new_csrf=None if cookie else request))

    def refusal(self, request: Request) -> Response | None:
        if self.token is None and not is_loopback(request.url.hostname or ""):
            return PlainTextResponse("web: unexpected Host header", status_code=400)
        if request.method not in SAFE_METHODS and _cross_site(request):
            return PlainTextResponse("web: cross-site request refused", status_code=403)
        if request.url.path.startswith("/static/"):
            request.state.signed_in = False
            return None  # public files: no session lookup in the database for each of them
        signed_in = is_authenticated(request, token=self.token, sessions=self.sessions)
        request.state.signed_in = signed_in  # pages show navigation to signed-in users only
        if signed_in or _is_public(request.url.path):
            return None
        return _login_required(request)


def _is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(("/static/", SIGNED_PREFIX))


def _cross_site(request: Request) -> bool:
    if request.headers.get("sec-fetch-site", "").lower() in CROSS_SITE:
        return True
    origin = request.headers.get("origin")
    if origin is None:
        return False
    return origin == "null" or urlsplit(origin).netloc != request.headers.get("host", "")


def _login_required(request: Request) -> Response:
    if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"/login?next={target}", status_code=303)
    return PlainTextResponse(
        "web: a token is required (Authorization: Bearer <MONITOR_WEB_TOKEN>)",
        status_code=401,
        headers={"www-authenticate": 'Bearer realm="monitor"'},
    )


def _header_sender(send: Send, *, new_csrf: Request | None) -> Send:
    async def sender(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in SECURITY_HEADERS.items():
                headers.setdefault(name, value)
            if new_csrf is not None:
                headers.append("set-cookie", _csrf_cookie(new_csrf))
        await send(message)

    return sender


def _csrf_cookie(request: Request) -> str:
    secure = "; Secure" if request.url.scheme == "https" else ""
    return f"{CSRF_COOKIE}={request.state.csrf}; Path=/; HttpOnly; SameSite=Strict{secure}"


def login_response(
    request: Request, *, token: str, target: str, sessions: Sessions, now: datetime
) -> Response:
    """A new session (recorded, and its id in the cookie), then on to ``target``."""
    session_id = secrets.token_urlsafe(32)
    expires_at = now + SESSION_LIFETIME
    sessions.add_web_session(
        key=session_key(session_id, token=token), now=now, expires_at=expires_at
    )
    response = RedirectResponse(safe_next(target), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


def logout_response(request: Request, *, token: str | None, sessions: Sessions) -> Response:
    """Revoke the session of the cookie (its id is then worthless) and clear the cookie."""
    key = _cookie_key(request, token=token) if token is not None else None
    if key is not None:
        sessions.revoke_web_session(key=key)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
