"""``monitor worker`` from outside: real worker processes on PostgreSQL, a real feed server and a
real SMTP server. Many workers share the work without repeating any of it; a SIGKILLed worker's
jobs are taken over within a bounded time; a worker refuses SQLite and an older schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from faults import scaleout
from monitor import migrate
from monitor.store import Store
from tests.conftest import REPO, TEST_DATABASE_URL, database_url

needs_postgresql = pytest.mark.skipif(
    not TEST_DATABASE_URL,
    reason="needs PostgreSQL: set MONITOR_TEST_DATABASE_URL (the job queue lives there)",
)

# stalled_after (6 s) + one tick (1 s) for the periodic retry, + slack for a loaded machine
TAKEOVER_BOUND_SECONDS = 12.0


def run_worker(tmp_path: Path, url: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "monitor.toml"
    config.write_text(f'[storage]\nurl = "{url}"\n', encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "worker"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_worker_refuses_sqlite(tmp_path: Path) -> None:
    done = run_worker(tmp_path, f"sqlite:///{tmp_path / 'm.db'}")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: worker: needs PostgreSQL ([storage] url is sqlite); on one machine run "
        "`monitor run` instead"
    ]


@needs_postgresql
def test_worker_refuses_an_older_schema(tmp_path: Path) -> None:
    url = database_url(tmp_path)
    store = Store(url=url)
    migrate.upgrade(store.engine, revision="0003")
    store.close()
    done = run_worker(tmp_path, url)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and "schema is at revision 0003" in errors[0], lines
    assert "run `monitor db upgrade` first" in errors[0]
    assert all(line.startswith(("error:", "hint:")) for line in lines), lines  # no traceback


WORKER = ("worker", "--concurrency", str(scaleout.CONCURRENCY))
DAEMON = ("run",)  # the one-machine daemon, twice on one database: it must not duplicate either

# (command, processes, SIGKILL the first after this many articles, pages fetched twice at most)
CASES = [
    pytest.param(WORKER, 2, None, 0, id="two-workers"),
    pytest.param(WORKER, 3, 15, scaleout.CONCURRENCY, id="three-workers-one-killed"),
    pytest.param(DAEMON, 2, None, 0, id="two-run-daemons"),
]


@needs_postgresql
@pytest.mark.slow
@pytest.mark.parametrize(("command", "workers", "kill_after", "fetched_twice"), CASES)
def test_workers_share_the_work_once(
    tmp_path: Path,
    command: tuple[str, ...],
    workers: int,
    kill_after: int | None,
    fetched_twice: int,
) -> None:
    outcome = scaleout.run_workers(
        database_url=database_url(tmp_path),
        workdir=tmp_path,
        workers=workers,
        kill_after=kill_after,
        command=command,
    )
    assert outcome.problems() == [], "\n".join(outcome.logs)
    assert outcome.state.stored == scaleout.PAGES and outcome.state.duplicate_articles == 0
    assert outcome.state.emails == scaleout.STORIES and outcome.state.duplicate_alerts == 0
    assert outcome.fetched_twice <= fetched_twice
    if kill_after is not None:
        assert outcome.recovered_in is not None, "the killed worker's jobs were never retried"
        assert outcome.recovered_in <= TAKEOVER_BOUND_SECONDS
