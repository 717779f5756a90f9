"""Memory: peak RSS of the real daemon (``monitor run``, a child process) polling MEMORY_FEEDS
feeds over a database that already holds STORED_ARTICLES articles.

The rows are generated straight into SQLite: ARTICLES_PER_FEED per feed, among them every item the
feed lists, so each poll parses a 200 answer and asks storage which entries are new against the
full table. Feeds 0..180 also list one corpus page each, so the extraction workers start and
work. Once every feed row says it was polled, the peaks (VmHWM) of the daemon and of each of its
extraction workers are read from /proc, then the daemon is stopped with SIGTERM.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import cycle, islice
from pathlib import Path
from typing import IO

from sqlalchemy import insert
from sqlmodel import Session

from bench.common import REPO_ROOT, SEEDS_DIR, child_pids, corpus_dir, proc_status_mb
from bench.server import quiet_guid
from monitor.feeds import canonical_url, entry_key
from monitor.models import Article, Feed, utcnow
from monitor.store import Store
from tests import support

MEMORY_FEEDS = 1000
ARTICLES_PER_FEED = 100
STORED_ARTICLES = MEMORY_FEEDS * ARTICLES_PER_FEED
TEXT_CHARS = 3000
BATCH = 5000
POLL_TIMEOUT_SECONDS = 300.0
STOP_TIMEOUT_SECONDS = 60.0
IDLE_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class MemoryRun:
    idle_peak_mb: float  # the same daemon with no feeds, a few seconds after it started
    daemon_peak_mb: float
    daemon_rss_mb: float
    worker_peaks_mb: tuple[float, ...]
    poll_seconds: float  # from the daemon's start until every feed row says it was polled
    articles: int
    exit_code: int


def make_template(*, base: str, workdir: Path) -> Path:
    """A database with MEMORY_FEEDS feeds and STORED_ARTICLES articles, built once."""
    path = workdir / "memory-template.db"
    store = Store(url=f"sqlite:///{path}")
    store.prepare_schema()
    try:
        with Session(store.engine) as s:
            feeds = [
                Feed(name=f"quiet-{i}", url=f"{base}/quiet/{i}.xml", origin="cli")
                for i in range(MEMORY_FEEDS)
            ]
            s.add_all(feeds)
            s.commit()
            ids = [f.id or 0 for f in feeds]
            rows = article_rows(base=base, feed_ids=ids)
            while batch := list(islice(rows, BATCH)):
                s.execute(insert(Article), batch)
            s.commit()
    finally:
        store.close()
    return path


def article_rows(*, base: str, feed_ids: list[int]) -> Iterator[dict[str, object]]:
    texts = cycle(corpus_texts())
    now = utcnow()
    for index, feed_id in enumerate(feed_ids):
        for j in range(ARTICLES_PER_FEED):
            link = f"{base}/old/{index}/{j}"
            canonical = canonical_url(link)
            yield {
                "feed_id": feed_id,
                "entry_key": entry_key(
                    guid=quiet_guid(index, j), canonical=canonical, title="", link=link
                ),
                "canonical_url": canonical,
                "url": link,
                "title": f"Quiet {index} item {j}",
                "text": next(texts),
                "fetched_at": now,
                "extraction": "trafilatura",
                "score": 0.1,
                "relevant": False,
                "reasons": "[]",
            }


def corpus_texts() -> list[str]:
    truth = json.loads((corpus_dir() / "aeb" / "ground-truth.json").read_text(encoding="utf-8"))
    return [str(v["articleBody"])[:TEXT_CHARS] for _, v in sorted(truth.items())]


def write_config(*, workdir: Path, db: Path, model_cache: Path) -> Path:
    return support.write_config(
        workdir / "monitor.toml",
        storage=f"sqlite:///{db}",
        seeds=SEEDS_DIR,
        cache_dir=model_cache,
        fetch={"allow_private_networks": True},
        scheduler={"tick": "1s"},
    )


def polled(db: Path) -> tuple[int, int]:
    """(feeds polled at least once, articles stored), read beside the running daemon."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        feeds = conn.execute(
            "SELECT count(*) FROM feed WHERE last_polled_at IS NOT NULL"
        ).fetchone()
        articles = conn.execute("SELECT count(*) FROM article").fetchone()
        return int(feeds[0]), int(articles[0])
    finally:
        conn.close()


def start_daemon(*, config: Path, log: IO[str]) -> subprocess.Popen[bytes]:
    """``monitor run`` as the user starts it, with no MONITOR_* variables leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "run"],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=STOP_TIMEOUT_SECONDS)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def idle_peak(*, workdir: Path, model_cache: Path) -> float:
    """Peak RSS of the daemon with an empty database, IDLE_SECONDS after it says it started."""
    config = write_config(workdir=workdir, db=workdir / "idle.db", model_cache=model_cache)
    log_path = workdir / "idle.log"
    with log_path.open("w") as log:
        proc = start_daemon(config=config, log=log)
        try:
            deadline = time.monotonic() + POLL_TIMEOUT_SECONDS
            while "scheduler: started" not in log_path.read_text():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"idle daemon did not start:\n{log_path.read_text()}")
                time.sleep(0.2)
            time.sleep(IDLE_SECONDS)
            return proc_status_mb(proc.pid, "VmHWM")
        finally:
            stop(proc)


def run_daemon(*, template: Path, workdir: Path, model_cache: Path) -> MemoryRun:
    idle = idle_peak(workdir=workdir, model_cache=model_cache)
    db = workdir / "memory.db"
    shutil.copyfile(template, db)
    config = write_config(workdir=workdir, db=db, model_cache=model_cache)
    log = (workdir / "daemon.log").open("w")
    started = time.perf_counter()
    proc = start_daemon(config=config, log=log)
    try:
        articles = wait_polled(proc, db=db, log=workdir / "daemon.log")
        poll_seconds = time.perf_counter() - started
        peak, rss = proc_status_mb(proc.pid, "VmHWM"), proc_status_mb(proc.pid, "VmRSS")
        workers = tuple(
            proc_status_mb(pid, "VmHWM") for pid in child_pids(proc.pid) if is_worker(pid)
        )
        exit_code = stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    return MemoryRun(
        idle_peak_mb=idle,
        daemon_peak_mb=peak,
        daemon_rss_mb=rss,
        worker_peaks_mb=workers,
        poll_seconds=poll_seconds,
        articles=articles,
        exit_code=exit_code,
    )


def wait_polled(proc: subprocess.Popen[bytes], *, db: Path, log: Path) -> int:
    deadline = time.monotonic() + POLL_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"daemon exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        if db.exists():
            feeds, articles = polled(db)
            if feeds >= MEMORY_FEEDS:
                return articles
        time.sleep(0.5)
    raise RuntimeError(f"daemon did not poll {MEMORY_FEEDS} feeds in {POLL_TIMEOUT_SECONDS:g} s")


def is_worker(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"spawn_main" in cmdline


def run_memory(
    *, base: str, workdir: Path, model_cache: Path, runs: int, progress: Callable[[str], None]
) -> list[MemoryRun]:
    template = make_template(base=base, workdir=workdir)
    progress(f"generated {STORED_ARTICLES:,} articles for {MEMORY_FEEDS:,} feeds")
    out = []
    for n in range(runs):
        run_dir = workdir / f"memory-{n}"
        run_dir.mkdir()
        out.append(run_daemon(template=template, workdir=run_dir, model_cache=model_cache))
        progress(f"memory run {n + 1}/{runs}: daemon peak {out[-1].daemon_peak_mb:.0f} MB")
        (run_dir / "memory.db").unlink()
    return out
