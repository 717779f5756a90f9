"""The review page's sign-in sessions: created at login, looked up on each request, revoked at
logout, refused once expired. Mixed into ``Store``. The web layer decides what a key is."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete
from sqlmodel import Session, col, select

from monitor.models import WebSession


class SessionQueries:
    if TYPE_CHECKING:

        def _read(self) -> AbstractContextManager[Session]: ...
        def _write(self) -> AbstractContextManager[Session]: ...

    def add_web_session(self, *, key: str, now: datetime, expires_at: datetime) -> None:
        """Record a new session (and forget the expired ones)."""
        with self._write() as s:
            s.connection().execute(delete(WebSession).where(col(WebSession.expires_at) <= now))
            s.add(WebSession(key=key, created_at=now, expires_at=expires_at))

    def web_session_valid(self, *, key: str, now: datetime) -> bool:
        """Whether the session exists and has not expired."""
        query = select(WebSession.key).where(
            col(WebSession.key) == key, col(WebSession.expires_at) > now
        )
        with self._read() as s:
            return s.exec(query).first() is not None

    def revoke_web_session(self, *, key: str) -> None:
        with self._write() as s:
            s.connection().execute(delete(WebSession).where(col(WebSession.key) == key))
