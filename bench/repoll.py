"""Unchanged re-poll: REPOLL_FEEDS feeds whose stored ETag the server answers with 304.

The ETag each feed would have stored from an earlier 200 is written on its row first (through
``Store.record_success``, as a poll does), so no run downloads a feed or an article. CPU is this
process's CPU clock: the server runs in its own process, so it is the monitor's alone.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.common import bench_settings
from monitor.app import build_app
from monitor.models import utcnow
from monitor.scheduler import poll_now

REPOLL_FEEDS = 500


@dataclass(frozen=True, slots=True)
class RepollRun:
    wall_seconds: float
    cpu_seconds: float
    feeds: int
    not_modified: int
    feed_requests: int
    other_requests: int  # requests that were not a feed's conditional GET (must be 0)


def quiet_feeds(base: str, count: int) -> list[tuple[str, str]]:
    return [(f"quiet-{i}", f"{base}/quiet/{i}.xml") for i in range(count)]


def server_hits(base: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{base}/_hits", timeout=10) as answer:
        hits: dict[str, int] = json.loads(answer.read())
    return hits


def run_repoll(
    *, base: str, workdir: Path, model_cache: Path, runs: int, progress: Callable[[str], None]
) -> list[RepollRun]:
    feeds = quiet_feeds(base, REPOLL_FEEDS)
    app = build_app(bench_settings(db=workdir / "repoll.db", model_cache=model_cache, feeds=feeds))
    try:
        app.model()
        rows = app.store.feeds()
        for row in rows:
            index = int(row.name.removeprefix("quiet-"))
            app.store.record_success(
                feed_id=row.id or 0,
                status=200,
                etag=f'"quiet-{index}"',
                last_modified=None,
                max_age=None,
                now=utcnow(),
            )
        ids = [row.id or 0 for row in rows]
        out = []
        for n in range(runs):
            before = server_hits(base)
            cpu, wall = time.process_time(), time.perf_counter()
            results = list(
                poll_now(stages=app.stages, feed_ids=ids, workers=app.settings.scheduler.workers)
            )
            wall_seconds, cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
            after = server_hits(base)
            delta = {k: after[k] - before.get(k, 0) for k in after}
            out.append(
                RepollRun(
                    wall_seconds=wall_seconds,
                    cpu_seconds=cpu_seconds,
                    feeds=len(results),
                    not_modified=sum(r.outcome == "not-modified" for r in results),
                    feed_requests=delta.get("quiet", 0),
                    other_requests=sum(v for k, v in delta.items() if k != "quiet"),
                )
            )
            progress(f"re-poll run {n + 1}/{runs}: {wall_seconds:.2f} s wall")
        return out
    finally:
        app.close()
