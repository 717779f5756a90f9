"""``make bench-scale``: time to store the 181 corpus pages as new articles with 1 and with 2
``monitor worker`` processes on one PostgreSQL, each with one extraction process; the speed-up.

    .venv/bin/python -m bench.scale [--database-url URL] [--workers 1 2]

Each run gets a fresh database (``monitor db upgrade``), starts its workers, waits until every
one says it started (model loaded, extraction process up), then adds the 10 news feeds and times
until all 181 articles are stored. Also measured per article: PostgreSQL transactions
(``pg_stat_database.xact_commit``) and worker CPU seconds, the figures the README's
10,000-feeds estimate is made from.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.common import child_pids, corpus_dir, process_cpu_seconds
from bench.server import NEWS_FEEDS, running
from faults.daemon_harness import (
    MODEL_CACHE,
    Daemon,
    drop_database,
    fresh_database,
    query,
    wait_until,
)
from faults.scaleout import upgrade
from monitor.store import Store
from tests import support

ARTICLES = 181
CONCURRENCY = 4  # jobs at once per worker (one extraction process: fetches overlap extraction)
TIMEOUT_SECONDS = 600.0


@dataclass(frozen=True, slots=True)
class ScaleRun:
    workers: int
    seconds: float
    articles: int
    transactions_per_article: float
    worker_cpu_per_article: float  # seconds, summed over workers (extraction children included)
    load_average: float  # of the machine over the last minute, at the end of the run


def write_config(path: Path, *, database: str) -> Path:
    return support.write_config(
        path,
        storage=database,
        cache_dir=MODEL_CACHE,
        fetch={"allow_private_networks": True},
        scheduler={"extract_processes": 1},
        extra={"worker": {"tick": "1s"}},
    )


def one_run(*, server_url: str, base: str, workers: int, workdir: Path) -> ScaleRun:
    db = fresh_database(server_url=server_url, workdir=workdir, name=f"scale-{workers}")
    config = write_config(workdir / f"scale-{workers}.toml", database=db)
    upgrade(config)
    procs = [
        Daemon(
            config=config,
            log_path=workdir / f"scale-{workers}-{n}.log",
            command=("worker", "--concurrency", str(CONCURRENCY)),
        )
        for n in range(workers)
    ]
    try:
        for proc in procs:
            if not proc.wait_log("worker: started", seconds=120):
                raise RuntimeError(f"worker did not start:\n{proc.log()[-3000:]}")
        cpu_before = sum(_tree_cpu(p.pid) for p in procs)
        commits_before = _commits(db)
        started = time.monotonic()
        _add_feeds(db, base=base)
        if not wait_until(lambda: _stored(db) >= ARTICLES, seconds=TIMEOUT_SECONDS, step=0.1):
            raise RuntimeError(f"only {_stored(db)} of {ARTICLES} stored")
        seconds = time.monotonic() - started
        cpu = sum(_tree_cpu(p.pid) for p in procs) - cpu_before
        commits = _commits(db) - commits_before
    finally:
        for proc in procs:
            proc.stop()
        drop_database(server_url=server_url, url=db)
    return ScaleRun(
        workers=workers,
        seconds=seconds,
        articles=ARTICLES,
        transactions_per_article=commits / ARTICLES,
        worker_cpu_per_article=cpu / ARTICLES,
        load_average=os.getloadavg()[0],
    )


def _add_feeds(db: str, *, base: str) -> None:
    store = Store(url=db)
    try:
        for i in range(NEWS_FEEDS):
            store.add_feed(name=f"news-{i}", url=f"{base}/news/{i}.xml", interval_seconds=900)
    finally:
        store.close()


def _stored(db: str) -> int:
    rows = query(db, "SELECT count(*) FROM article")
    return int(rows[0][0]) if rows else 0


def _commits(db: str) -> int:
    rows = query(db, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
    return int(rows[0][0]) if rows else 0


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a worker and its descendants (the extraction process, its helpers)."""
    try:
        return process_cpu_seconds(pid) + sum(_tree_cpu(c) for c in child_pids(pid))
    except OSError:  # gone meanwhile
        return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument(
        "--database-url", default=os.environ.get("MONITOR_TEST_DATABASE_URL") or None
    )
    parser.add_argument("--workers", nargs="+", type=int, default=[1, 2])
    args = parser.parse_args()
    if not args.database_url:
        raise SystemExit("bench.scale: needs PostgreSQL: set MONITOR_TEST_DATABASE_URL")
    corpus = corpus_dir()
    runs = []
    with running(corpus) as base, tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        for workers in args.workers:
            runs.append(
                one_run(server_url=args.database_url, base=base, workers=workers, workdir=Path(tmp))
            )
    for run in runs:
        print(
            f"{run.workers} worker(s): {run.articles} articles in {run.seconds:.1f}s "
            f"({run.articles / run.seconds:.1f}/s), {run.transactions_per_article:.1f} "
            f"PostgreSQL transactions and {run.worker_cpu_per_article * 1000:.0f} ms worker CPU "
            f"per article (load average {run.load_average:.1f} on {os.cpu_count()} cores)"
        )
    if len(runs) >= 2:
        print(
            f"speed-up, {runs[-1].workers} workers over {runs[0].workers}: "
            f"{runs[0].seconds / runs[-1].seconds:.2f}x"
        )
    print(json.dumps([asdict(r) for r in runs]))


if __name__ == "__main__":
    main()
