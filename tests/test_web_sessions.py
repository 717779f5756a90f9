"""Sign-in sessions of the review page live in the database: the cookie holds a random id only,
logout revokes it, an expired session or one made under another token is refused. The login and
logout round trip runs on a real uvicorn socket."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session, select

from monitor.app import App
from monitor.models import WebSession, utcnow
from monitor.web import create_app
from monitor.web.security import SESSION_COOKIE, SESSION_LIFETIME, session_key
from tests.test_web import Client, csrf_of, running

TOKEN = "web-token-for-session-tests-0123"
OTHER_TOKEN = "web-token-after-rotation-456789"
HTML = {"accept": "text/html"}


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    return make_app(feeds=[])


def login(c: httpx.Client | Client) -> str:
    """Sign in through the form; the session id the cookie now holds."""
    form = c.get("/login?next=/feeds")
    signed_in = c.post("/login", data={"csrf": csrf_of(form.text), "token": TOKEN, "next": "/"})
    assert signed_in.status_code == 303, signed_in.text
    return str(c.cookies[SESSION_COOKIE])


def test_login_then_logout_revokes_the_cookie_on_a_real_server(app: App) -> None:
    with running(create_app(app=app, token=TOKEN)) as base, httpx.Client(base_url=base) as c:
        session_id = login(c)
        assert c.get("/feeds", headers=HTML).status_code == 200
        logout = c.post("/logout", data={"csrf": csrf_of(c.get("/feeds").text)})
        assert logout.status_code == 303 and SESSION_COOKIE not in c.cookies
        replay = {"cookie": f"{SESSION_COOKIE}={session_id}"}
        with httpx.Client(base_url=base) as other:
            again = other.get("/feeds", headers={**replay, **HTML})
            assert again.status_code == 303 and again.headers["location"].startswith("/login")
            assert other.get("/api/matches", headers=replay).status_code == 401


def test_the_cookie_holds_a_random_id_that_the_database_does_not(app: App) -> None:
    client = Client(create_app(app=app, token=TOKEN), base_url="http://monitor.example.org")
    try:
        first, second = login(client), login(client)
    finally:
        client.close()
    assert first != second and TOKEN not in first and len(first) >= 40
    with Session(app.store.engine) as s:
        keys = {row.key for row in s.exec(select(WebSession)).all()}
    assert keys == {session_key(first, token=TOKEN), session_key(second, token=TOKEN)}
    assert not {first, second} & keys


# (case, session made this many days ago or None for an id never issued, token at check, status)
SESSIONS = [
    ("live", 0, TOKEN, 200),
    ("29 days old", 29, TOKEN, 200),
    ("expired", SESSION_LIFETIME.days + 1, TOKEN, 303),
    ("made under an older token", 0, OTHER_TOKEN, 303),
    ("never issued", None, TOKEN, 303),
]


@pytest.mark.parametrize(
    ("days", "token", "status"), [c[1:] for c in SESSIONS], ids=[c[0] for c in SESSIONS]
)
def test_only_live_sessions_of_this_token_are_accepted(
    app: App, days: int | None, token: str, status: int
) -> None:
    session_id = "a-session-id-for-the-table-of-cases-0123"
    if days is not None:
        made = utcnow() - timedelta(days=days)
        key = session_key(session_id, token=TOKEN)
        app.store.add_web_session(key=key, now=made, expires_at=made + SESSION_LIFETIME)
    client = Client(create_app(app=app, token=token), base_url="http://monitor.example.org")
    try:
        response = client.get(
            "/feeds", headers={"cookie": f"{SESSION_COOKIE}={session_id}", **HTML}
        )
    finally:
        client.close()
    assert response.status_code == status


def test_expired_sessions_are_forgotten_when_a_new_one_starts(app: App) -> None:
    old = utcnow() - SESSION_LIFETIME - timedelta(days=1)
    app.store.add_web_session(key="old", now=old, expires_at=old + SESSION_LIFETIME)
    now = utcnow()
    app.store.add_web_session(key="new", now=now, expires_at=now + SESSION_LIFETIME)
    with Session(app.store.engine) as s:
        assert [row.key for row in s.exec(select(WebSession)).all()] == ["new"]
