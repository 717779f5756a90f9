"""`monitor serve` from outside: a real process on real ports. A port it cannot open is one error
line with a hint and exit 1, before it says it serves; a free port serves the page."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.daemonproc import wait_for
from tests.smtpserver import free_port
from tests.support import write_config

TOKEN = "a-long-enough-web-token-for-tests"
INTERRUPTED = (0, 128 + signal.SIGINT)  # uvicorn re-raises the SIGINT after a clean shutdown


def config_file(tmp_path: Path) -> Path:
    return write_config(tmp_path, storage=f"sqlite:///{tmp_path / 'monitor.db'}", fetch={})


def serve_args(config: Path, *, host: str, port: int) -> list[str]:
    where = ["--host", host, "--port", str(port)]
    return [sys.executable, "-m", "monitor", "--config", str(config), "serve", *where]


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield int(sock.getsockname()[1])


@dataclass(frozen=True)
class Refusal:
    host: str
    says: str  # on the error line
    hint: str  # on the hint line


REFUSALS = {
    "port in use": Refusal("127.0.0.1", "the port is in use", "stop it or pass --port"),
    "address not on this machine": Refusal(
        "192.0.2.1", "cannot listen on 192.0.2.1", "an address of this machine"
    ),
}


@pytest.mark.parametrize("name", REFUSALS)
def test_a_port_that_cannot_be_opened_is_one_error_and_exit_1(
    tmp_path: Path, busy_port: int, name: str
) -> None:
    case = REFUSALS[name]
    done = subprocess.run(
        serve_args(config_file(tmp_path), host=case.host, port=busy_port),
        capture_output=True,
        text=True,
        env={**os.environ, "MONITOR_WEB_TOKEN": TOKEN},
        timeout=60,
        check=False,
    )
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 1, done.stderr
    assert len(errors) == 1 and case.says in errors[0], done.stderr
    assert case.hint in next(line for line in done.stderr.splitlines() if line.startswith("hint:"))
    assert "serving on" not in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_a_free_port_serves_the_page_until_interrupted(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        serve_args(config_file(tmp_path), host="127.0.0.1", port=port),
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        wait_for(lambda: _answers(port), seconds=60, what=lambda: "monitor serve to answer")
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json() == {"status": "ok"}
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode in INTERRUPTED, err
    assert f"serving on http://127.0.0.1:{port}/" in err


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
