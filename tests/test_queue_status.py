"""``monitor status`` and ``/metrics`` show the workers' job queue: jobs waiting, running and
failed, and workers alive (PostgreSQL); on SQLite there is no queue line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from faults.daemon_harness import execute
from monitor.cli import app
from monitor.settings import WorkerSettings
from monitor.store import Store
from monitor.store.queue import QueueCounts
from monitor.views import queue_line
from monitor.web.metrics import Snapshot, render_metrics
from monitor.worker import build_queue
from tests.conftest import TEST_DATABASE_URL, database_url

runner = CliRunner()

# (jobs deferred, of them marked running, of them marked failed, workers alive, stale workers)
CASES = [
    pytest.param(
        0, 0, 0, 0, 0, "queue: 0 waiting, 0 running, 0 failed; 0 workers alive", id="idle"
    ),
    pytest.param(5, 1, 2, 1, 1, "queue: 2 waiting, 1 running, 2 failed; 1 worker alive", id="busy"),
]


def status(tmp_path: Path, url: str) -> str:
    config = tmp_path / "monitor.toml"
    config.write_text(f'[storage]\nurl = "{url}"\n', encoding="utf-8")
    result = runner.invoke(app, ["--config", str(config), "status"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs PostgreSQL: set MONITOR_TEST_DATABASE_URL")
@pytest.mark.parametrize(("jobs", "running", "failed", "alive", "stale", "line"), CASES)
def test_status_and_metrics_show_the_queue(
    tmp_path: Path, jobs: int, running: int, failed: int, alive: int, stale: int, line: str
) -> None:
    url = database_url(tmp_path)
    store = Store(url=url)
    store.prepare_schema()
    queue = build_queue(url=url, settings=WorkerSettings(), for_defers=True)
    with store.engine.begin() as conn:
        driver = conn.connection.driver_connection
        task = queue.configure_task(name="process_entry", connection=driver)
        for n in range(jobs):
            task.defer(pending_id=n)
    execute(url, f"UPDATE procrastinate_jobs SET status = 'doing' WHERE id <= {running}")
    execute(
        url,
        f"UPDATE procrastinate_jobs SET status = 'failed' WHERE id > {running} "
        f"AND id <= {running + failed}",
    )
    for _ in range(alive + stale):
        execute(url, "INSERT INTO procrastinate_workers DEFAULT VALUES")
    execute(
        url,
        f"UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour' "
        f"WHERE id <= {stale}",
    )
    counts = store.queue_counts()
    store.close()

    assert line in status(tmp_path, url)
    assert counts is not None
    metrics = render_metrics(Snapshot(feeds=[], counts={}, judgements={}, alerts={}, queue=counts))
    assert f'monitor_queue_jobs{{state="waiting"}} {jobs - running - failed}' in metrics
    assert f'monitor_queue_jobs{{state="failed"}} {failed}' in metrics
    assert f"monitor_queue_workers {alive}" in metrics


def test_sqlite_has_no_queue(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    store = Store(url=url)
    store.prepare_schema()
    assert store.queue_counts() is None
    store.close()
    assert "queue:" not in status(tmp_path, url)
    empty = Snapshot(feeds=[], counts={}, judgements={}, alerts={}, queue=None)
    assert "monitor_queue" not in render_metrics(empty)


@pytest.mark.parametrize(
    ("workers", "line"),
    [
        (1, "queue: 1 waiting, 2 running, 3 failed; 1 worker alive"),
        (5, "queue: 1 waiting, 2 running, 3 failed; 5 workers alive"),
    ],
)
def test_queue_line(workers: int, line: str) -> None:
    counts = QueueCounts(waiting=1, running=2, failed=3, succeeded=4, workers=workers)
    assert queue_line(counts) == line
