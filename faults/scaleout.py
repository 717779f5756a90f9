"""Scale-out: several real ``monitor worker`` processes on one PostgreSQL, a real feed server and
a real SMTP server; optionally one worker SIGKILLed mid-run.

Ground truth is what the feed server published: 6 feeds, 65 article pages, 5 relevant stories
(each relevant text published twice, in two feeds, so one story has two copies). The end state
must hold 65 articles, exactly one email per story, and every page fetched once, except the few
the killed worker had in flight.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from faults.common import Case, Progress
from faults.daemon_harness import (
    REPO,
    Daemon,
    EndState,
    Publisher,
    Text,
    admin,
    drop_database,
    end_state,
    fresh_database,
    known_texts,
    query,
    quiet_server,
    wait_until,
    write_config,
)
from faults.outages import PG_BIN, PrivatePostgres
from monitor import migrate
from monitor.store import Store
from tests.httpserver import FeedServer
from tests.smtpserver import SMTPServer

GROUP = "scale-out"
FEEDS = 6
PAGES = 65
STORIES = 5
CONCURRENCY = 3  # jobs at once per worker: at most this many pages in flight when one dies
# stalled after 6 missed heartbeats: a live worker on a loaded machine is not taken for dead
WORKER_SETTINGS = {"tick": '"1s"', "heartbeat": '"1s"', "stalled_after": '"6s"'}
SETTLE_SECONDS = 120.0
PG_AWAY_SECONDS = 5.0
RETRIED = "goes back to the queue"  # monitor.worker's line for each stalled job it retries


# Called once ``kill_after`` articles are stored, with the workers; returns the time of a kill
# (to measure the takeover) or None.
Disturbance = Callable[[list[Daemon]], float | None]


@dataclass
class ScaleRun:
    state: EndState
    fetched_twice: int
    seconds: float  # start of the workers to the end state
    recovered_in: float | None = None  # kill to its jobs put back in the queue
    logs: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        found = self.state.problems()
        if self.state.stored != PAGES:
            found.append(f"{self.state.stored} of {PAGES} articles stored")
        if self.state.emails != STORIES:
            found.append(f"{self.state.emails} emails for {STORIES} stories")
        return found


def texts() -> list[Text]:
    """65 texts: 5 relevant ones twice (two copies of each story), then irrelevant ones."""
    relevant, irrelevant = known_texts()
    chosen = relevant[:STORIES]
    return [*chosen, *chosen, *irrelevant[: PAGES - 2 * len(chosen)]]


def upgrade(config: Path) -> str:
    """``monitor db upgrade`` from outside; its output."""
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "db", "upgrade"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout + done.stderr


def worker_config(path: Path, *, database: str, publisher: Publisher, smtp: SMTPServer) -> Path:
    write_config(
        path,
        database=database,
        feeds=publisher.feed_urls(),
        alert_urls=[smtp.url],
        scheduler={"extract_processes": 0},
    )
    lines = ["[worker]", *(f"{k} = {v}" for k, v in WORKER_SETTINGS.items())]
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def page_fetches(server: FeedServer) -> Counter[str]:
    with server._lock:
        return Counter(r.path for r in server.requests if r.path.startswith("/article/"))


def run_workers(
    *,
    database_url: str,
    workdir: Path,
    workers: int,
    kill_after: int | None = None,
    disturb: Disturbance | None = None,
    command: tuple[str, ...] = ("worker", "--concurrency", str(CONCURRENCY)),
) -> ScaleRun:
    """Publish everything, start ``workers`` workers, SIGKILL the first once ``kill_after``
    articles are stored (or, given ``disturb``, call it then instead), and wait for the end
    state. ``command``: ``("run",)`` runs one-machine daemons side by side instead."""
    server, smtp = quiet_server(), SMTPServer().start()
    publisher = Publisher(server=server, feeds=[f"/feed/{n}.xml" for n in range(FEEDS)])
    for text in texts():
        publisher.publish(text)
    config = worker_config(
        workdir / "worker.toml", database=database_url, publisher=publisher, smtp=smtp
    )
    upgrade(config)
    started = time.monotonic()
    procs = [
        Daemon(
            config=config,
            log_path=workdir / f"worker-{n}.log",
            command=command,
        )
        for n in range(workers)
    ]
    killed_at = None
    try:
        if kill_after is not None:
            wait_until(
                lambda: _stored(database_url) >= kill_after, seconds=SETTLE_SECONDS, step=0.05
            )
            killed_at = (disturb or _kill_first)(procs)
        wait_until(lambda: _settled(database_url, smtp), seconds=SETTLE_SECONDS)
        seconds = time.monotonic() - started
        time.sleep(2.0)  # a duplicate email would come within a tick or two
    finally:
        logs = [p.log() for p in procs]
        for proc in procs:
            proc.stop()
        server.stop()
        smtp.stop()
    fetched = page_fetches(server)
    return ScaleRun(
        state=end_state(db=database_url, publisher=publisher, smtp=smtp),
        fetched_twice=sum(n > 1 for n in fetched.values()),
        seconds=seconds,
        recovered_in=taken_over_in(killed_at=killed_at, logs=logs),
        logs=logs,
    )


def _stored(database_url: str) -> int:
    rows = query(database_url, "SELECT count(*) FROM article")
    return int(rows[0][0]) if rows else 0


def _settled(database_url: str, smtp: SMTPServer) -> bool:
    return _stored(database_url) >= PAGES and len(smtp.messages) >= STORIES


def _kill_first(procs: list[Daemon]) -> float:
    """SIGKILL the first worker; the wall-clock time of the kill."""
    procs[0].kill()
    return time.time()


def taken_over_in(*, killed_at: float | None, logs: list[str]) -> float | None:
    """Seconds from the kill to the first of its jobs put back in the queue by another worker."""
    if killed_at is None:
        return None
    times = [
        datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
        for log in logs
        for line in log.splitlines()
        if RETRIED in line
    ]
    return min(times) - killed_at if times else None


# --- the fault-suite case ----------------------------------------------------------------------


def run(
    *, reduced: bool, database_url: str | None, workdir: Path, progress: Progress
) -> list[Case]:
    if not database_url:
        skipped = "skipped: the job queue lives in PostgreSQL (set MONITOR_TEST_DATABASE_URL)"
        return [Case(GROUP, "workers on PostgreSQL", skipped, True, {}, "skipped")]
    repeats = 1 if reduced else 3
    cases = []
    for n in range(repeats):
        db = fresh_database(server_url=database_url, workdir=workdir, name=f"scale-{n}")
        try:
            outcome = run_workers(database_url=db, workdir=workdir, workers=3, kill_after=15)
        finally:
            drop_database(server_url=database_url, url=db)
        progress(f"scale-out: SIGKILL run {n + 1}/{repeats}: {outcome.problems() or 'ok'}")
        cases.append(_case(outcome))
    cases.append(_postgres_restart(workdir=workdir))
    progress(f"scale-out: PostgreSQL restart: {cases[-1].detail or 'ok'}")
    cases.append(_older_schema(database_url=database_url, workdir=workdir))
    return cases


def _postgres_restart(*, workdir: Path) -> Case:
    name = f"PostgreSQL restarted under three workers ({PG_AWAY_SECONDS:g}s away)"
    proves = (
        "workers outlive a PostgreSQL restart: every article stored once and one email per "
        "story afterwards"
    )
    if not (PG_BIN / "initdb").is_file():
        return Case(GROUP, name, "skipped: needs PostgreSQL's initdb and pg_ctl", True, {}, "")
    pg = PrivatePostgres()
    try:
        server_url = pg.start()
        admin(server_url, 'CREATE DATABASE "scale"')
        db = make_url(server_url).set(database="scale").render_as_string(hide_password=False)

        def restart(_procs: list[Daemon]) -> None:
            pg.stop()
            time.sleep(PG_AWAY_SECONDS)
            pg.restart()

        outcome = run_workers(
            database_url=db, workdir=workdir, workers=3, kill_after=15, disturb=restart
        )
    finally:
        pg.destroy()
    problems = outcome.problems()
    return Case(
        group=GROUP,
        name=name,
        proves=proves,
        passed=not problems,
        figures={
            "stored": outcome.state.stored,
            "emails": outcome.state.emails,
            "fetched twice": outcome.fetched_twice,
            "total s": outcome.seconds,
        },
        detail="; ".join(problems),
    )


def _older_schema(*, database_url: str, workdir: Path) -> Case:
    """A worker started on a database whose schema is behind refuses with one clear line."""
    db = fresh_database(server_url=database_url, workdir=workdir, name="older-schema")
    try:
        store = Store(url=db)
        migrate.upgrade(store.engine, revision="0003")
        store.close()
        config = workdir / "older.toml"
        config.write_text(f"[storage]\nurl = {json.dumps(db)}\n", encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(config), "worker"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        drop_database(server_url=database_url, url=db)
    lines = done.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    clear = len(errors) == 1 and "monitor db upgrade" in errors[0]
    clear = clear and all(line.startswith(("error:", "hint:")) for line in lines)
    return Case(
        group=GROUP,
        name="worker started against an older schema",
        proves="a worker on a schema behind its version refuses to start: one error line, a hint",
        passed=done.returncode == 1 and clear,
        figures={"exit code": done.returncode, "error lines": len(errors)},
        detail=errors[0] if errors else "no message",
    )


def _case(outcome: ScaleRun) -> Case:
    problems = outcome.problems()
    if outcome.fetched_twice > CONCURRENCY:
        problems.append(f"{outcome.fetched_twice} pages fetched twice (at most {CONCURRENCY})")
    return Case(
        group=GROUP,
        name="SIGKILL one of three workers after 15 articles",
        proves=(
            "another worker takes over a killed worker's jobs: nothing lost, one email per "
            "story, only the pages it had in flight fetched again"
        ),
        passed=not problems,
        figures={
            "stored": outcome.state.stored,
            "emails": outcome.state.emails,
            "fetched twice": outcome.fetched_twice,
            "taken over in s": outcome.recovered_in or 0.0,
            "total s": outcome.seconds,
        },
        detail="; ".join(problems),
    )
