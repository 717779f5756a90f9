"""`monitor run` as a real child process, with its log lines collected as they come."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path


class DaemonProcess:
    def __init__(self, config: Path) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def wait_started(self, *, seconds: float = 60) -> DaemonProcess:
        wait_for(
            lambda: "scheduler: started" in self.log,
            seconds=seconds,
            what=lambda: f"daemon start; log so far:\n{self.log}",
        )
        return self

    def stop(self) -> str:
        """SIGTERM; the daemon must exit 0 within 30 s. Returns its whole log."""
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self._reader.join(timeout=5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        assert self.proc.returncode == 0, self.log
        return self.log


def wait_for(
    condition: Callable[[], bool],
    *,
    seconds: float = 30,
    what: Callable[[], str] = lambda: "condition",
) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what()}"
        time.sleep(0.2)


REPO = Path(__file__).resolve().parent.parent


def run_monitor(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    stdin: str = "",
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``monitor ARGS`` as a real child process started in ``cwd``, running this checkout."""
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {}), "PYTHONPATH": str(REPO)},
        check=False,
    )
