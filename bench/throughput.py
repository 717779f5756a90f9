"""New articles: the monitor polls NEWS_FEEDS feeds linking to the 181 corpus pages, nothing seen
before, until every article is stored and scored; beside it the floor and the naive peer.

The three are interleaved run by run so that a busy moment on the machine hits all of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, col, select

from bench.common import (
    bench_settings,
    corpus_dir,
    own_child,
    process_cpu_seconds,
    run_json,
    system_busy_seconds,
)
from bench.server import NEWS_FEEDS
from monitor.app import App, build_app
from monitor.extract import extract_article
from monitor.models import Article
from monitor.scheduler import poll_now

WARM_UP_HTML = (
    b"<html><body><article><p>" + b"Warm-up paragraph. " * 20 + b"</p></article></body></html>"
)


@dataclass(frozen=True, slots=True)
class PollRun:
    wall_seconds: float
    main_cpu_seconds: float
    worker_cpu_seconds: float
    start_seconds: float
    articles: int
    extracted: int
    outcomes: tuple[str, ...]
    others_cores: float  # cores other processes on the machine kept busy during the run


def news_feeds(base: str) -> list[tuple[str, str]]:
    return [(f"news-{i}", f"{base}/news/{i}.xml") for i in range(NEWS_FEEDS)]


def start_app(*, base: str, workdir: Path, model_cache: Path) -> tuple[App, float]:
    """An app as the daemon has it once running: model loaded, extraction workers up."""
    started = time.perf_counter()
    app = build_app(
        bench_settings(db=workdir / "new.db", model_cache=model_cache, feeds=news_feeds(base))
    )
    app.model()
    warm_workers(app)
    return app, time.perf_counter() - started


def warm_workers(app: App) -> None:
    """Start every extraction worker and let each import trafilatura before the clock starts."""
    workers = app.settings.scheduler.extract_processes
    if workers <= 0:
        return
    executor = app.extractor._executor()
    futures = [executor.submit(extract_article, html=WARM_UP_HTML) for _ in range(workers * 4)]
    for future in futures:
        future.result()


def worker_pids(app: App) -> list[int]:
    pool = app.extractor._pool
    processes = getattr(pool, "_processes", None) or {}
    return sorted(int(pid) for pid in processes)


def poll_new_articles(*, base: str, workdir: Path, model_cache: Path) -> PollRun:
    app, start_seconds = start_app(base=base, workdir=workdir, model_cache=model_cache)
    try:
        feed_ids = [f.id or 0 for f in app.store.feeds()]
        pids = worker_pids(app)
        server_pid = own_child(b"bench.server")
        servers = [server_pid] if server_pid else []
        workers_before = sum(process_cpu_seconds(pid) for pid in pids)
        server_before = sum(process_cpu_seconds(pid) for pid in servers)
        busy_before = system_busy_seconds()
        cpu, wall = time.process_time(), time.perf_counter()
        results = list(
            poll_now(stages=app.stages, feed_ids=feed_ids, workers=app.settings.scheduler.workers)
        )
        wall_seconds = time.perf_counter() - wall
        main_cpu = time.process_time() - cpu
        busy = system_busy_seconds() - busy_before
        worker_cpu = sum(process_cpu_seconds(pid) for pid in pids) - workers_before
        server_cpu = sum(process_cpu_seconds(pid) for pid in servers) - server_before
        articles, extracted = stored_articles(app)
    finally:
        app.close()
    return PollRun(
        wall_seconds=wall_seconds,
        main_cpu_seconds=main_cpu,
        worker_cpu_seconds=worker_cpu,
        start_seconds=start_seconds,
        articles=articles,
        extracted=extracted,
        outcomes=tuple(sorted({r.outcome for r in results})),
        others_cores=max(busy - main_cpu - worker_cpu - server_cpu, 0.0) / wall_seconds,
    )


def stored_articles(app: App) -> tuple[int, int]:
    """(articles stored with a score, of which extracted from the page)."""
    with Session(app.store.engine) as s:
        scored = s.exec(
            select(func.count()).select_from(Article).where(col(Article.score).is_not(None))
        ).one()
        extracted = s.exec(
            select(func.count()).select_from(Article).where(Article.extraction == "trafilatura")
        ).one()
    return int(scored), int(extracted)


def floor_run(*, as_monitor: bool = False) -> dict[str, float]:
    args = [str(corpus_dir())] + (["--as-monitor"] if as_monitor else [])
    result: dict[str, float] = run_json("bench.floor", *args)
    return result


def naive_run(*, base: str, workdir: Path, model_cache: Path) -> dict[str, float]:
    result: dict[str, float] = run_json(
        "bench.naive", base, str(model_cache), str(workdir / "naive.db")
    )
    return result


@dataclass
class Interleaved:
    floor: list[dict[str, float]]
    monitor_extraction: list[dict[str, float]]
    polls: list[PollRun]
    naive: list[dict[str, float]]


def run_interleaved(
    *,
    base: str,
    workdir: Path,
    model_cache: Path,
    runs: int,
    naive_runs: int,
    progress: Callable[[str], None],
) -> Interleaved:
    out = Interleaved(floor=[], monitor_extraction=[], polls=[], naive=[])
    for n in range(runs):
        run_dir = workdir / f"run-{n}"
        run_dir.mkdir(parents=True)
        out.floor.append(floor_run())
        progress(f"floor run {n + 1}/{runs}: {out.floor[-1]['cpu_seconds']:.2f} s CPU")
        out.polls.append(poll_new_articles(base=base, workdir=run_dir, model_cache=model_cache))
        progress(f"new articles run {n + 1}/{runs}: {out.polls[-1].wall_seconds:.2f} s wall")
        if n < naive_runs:
            out.monitor_extraction.append(floor_run(as_monitor=True))
            out.naive.append(naive_run(base=base, workdir=run_dir, model_cache=model_cache))
            progress(f"naive peer run {n + 1}/{naive_runs}: {out.naive[-1]['wall_seconds']:.2f} s")
    return out
