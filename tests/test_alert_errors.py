"""`monitor alerts test` names each destination's own error on its result line, without -v and
without its secrets: a real SMTP server (aiosmtpd) and a real webhook on 127.0.0.1, the command
run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.httpserver import FeedServer, Route
from tests.smtpserver import SMTPServer
from tests.support import write_config

SECRET = "sekrit-Token-31337"
ADDRESSES = "from=monitor@example.org&to=desk@example.org"


class RefusingSMTPServer(SMTPServer):
    """Refuses every recipient the way a real server refuses an unknown mailbox."""

    async def handle_RCPT(self, *_args: Any) -> str:
        return "550 5.1.1 mailbox desk@example.org unknown"


@dataclass(frozen=True)
class Servers:
    smtp: SMTPServer
    refusing: SMTPServer
    web: FeedServer


@dataclass(frozen=True)
class ErrorCase:
    url: Callable[[Servers], str]  # the destination
    says: tuple[str, ...]  # what its result line must hold


CASES = {
    "AUTH on a server without it": ErrorCase(
        lambda s: f"mailto://desk:{SECRET}@127.0.0.1:{s.smtp.port}?{ADDRESSES}",
        ("FAILED", "SMTP AUTH extension not supported"),
    ),
    "STARTTLS on a server without it": ErrorCase(
        lambda s: f"mailto://127.0.0.1:{s.smtp.port}?{ADDRESSES}&secure=yes&mode=starttls",
        ("FAILED", "STARTTLS extension not supported"),
    ),
    "recipient refused with 550": ErrorCase(
        lambda s: f"mailto://127.0.0.1:{s.refusing.port}?{ADDRESSES}",
        ("FAILED", "550", "mailbox desk@example.org unknown"),
    ),
    "webhook 500 echoing its token": ErrorCase(
        lambda s: f"json://127.0.0.1:{s.web.httpd.server_address[1]}/hook?-token={SECRET}",
        ("FAILED", "error=500", "no hook for token ***"),
    ),
    "working SMTP": ErrorCase(lambda s: f"mailto://127.0.0.1:{s.smtp.port}?{ADDRESSES}", ("sent",)),
}


@pytest.fixture
def servers() -> Iterator[Servers]:
    web = FeedServer().start()
    body = f"no hook for token {SECRET}".encode()
    web.routes[f"/hook?token={SECRET}"] = Route(status=500, body=body, content_type="text/plain")
    found = Servers(smtp=SMTPServer().start(), refusing=RefusingSMTPServer().start(), web=web)
    yield found
    found.smtp.stop()
    found.refusing.stop()
    web.stop()


def config_file(tmp_path: Path, *, url: str) -> Path:
    storage = f"sqlite:///{tmp_path / 'monitor.db'}"
    return write_config(tmp_path, storage=storage, fetch={}, alerts=[url])


@pytest.mark.parametrize("name", CASES)
def test_result_line_names_the_destinations_own_error(
    tmp_path: Path, servers: Servers, name: str
) -> None:
    case = CASES[name]
    config = config_file(tmp_path, url=case.url(servers))
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "alerts", "test"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "400"},
        timeout=60,
        check=False,
    )
    assert done.returncode == (0 if case.says == ("sent",) else 1), done.stderr
    result_lines = [line for line in done.stdout.splitlines() if "mailto" in line or "json" in line]
    assert len(result_lines) == 1, done.stdout
    assert all(words in result_lines[0] for words in case.says), result_lines[0]
    assert SECRET not in done.stdout + done.stderr
    assert "DEBUG" not in done.stderr and "Socket Exception" not in done.stderr, done.stderr
