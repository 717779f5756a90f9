"""Load: many feeds on the local server polled at a short interval for minutes; the daemon's memory
and open files must level off after warm-up and no feed may be starved.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.common import proc_status_mb
from faults.common import Case, Progress
from faults.daemon_harness import (
    Daemon,
    drop_database,
    fresh_database,
    quiet_server,
    write_config,
)
from tests.httpserver import FeedServer, Item, Route, rss

GROUP = "load"
MAX_RSS_GROWTH_MB = 20.0
MAX_FDS = 100
MAX_FD_GROWTH = 10
MIN_POLL_SHARE = 0.5  # every feed polled at least this share of duration / interval times


@dataclass(frozen=True, slots=True)
class Size:
    feeds: int
    interval: float  # seconds between two polls of a feed
    seconds: float  # how long the daemon runs
    warmup: float  # seconds ignored before growth is measured


FULL = Size(feeds=1000, interval=15.0, seconds=200.0, warmup=60.0)
REDUCED = Size(feeds=200, interval=4.0, seconds=20.0, warmup=6.0)


@dataclass(frozen=True, slots=True)
class Sample:
    at: float  # seconds since the daemon started
    rss_mb: float
    fds: int


def run(
    *, reduced: bool, database_url: str | None, workdir: Path, progress: Progress
) -> list[Case]:
    size = REDUCED if reduced else FULL
    return [_many_feeds(size=size, server_url=database_url, workdir=workdir, progress=progress)]


def _many_feeds(*, size: Size, server_url: str | None, workdir: Path, progress: Progress) -> Case:
    server = quiet_server()
    feeds = _serve_feeds(server, count=size.feeds)
    db = fresh_database(server_url=server_url, workdir=workdir, name="load")
    config = write_config(
        workdir / "load.toml",
        database=db,
        feeds=feeds,
        interval=f"{size.interval:g}s",
        tick="0.5s",
        scheduler={"extract_processes": 0, "workers": 8},
    )
    daemon = Daemon(config=config, log_path=workdir / "load.log")
    try:
        daemon.wait_log("scheduler: started", seconds=120)
        progress(f"load: {size.feeds} feeds every {size.interval:g}s for {size.seconds:g}s")
        samples = _sample(daemon, seconds=size.seconds)
        code = daemon.stop()
        polls = Counter(r.path for r in list(server.requests) if r.path.startswith("/feed/"))
        errors = daemon.log().count(" ERROR ")
    finally:
        daemon.kill()
        server.stop()
        drop_database(server_url=server_url, url=db)
    return _verdict(size=size, samples=samples, polls=polls, errors=errors, code=code)


def _serve_feeds(server: FeedServer, *, count: int) -> dict[str, str]:
    """Feeds with one entry each and an ETag: a 200 on the first poll, 304 afterwards."""
    now = time.time()
    feeds = {}
    for i in range(count):
        item = Item(
            title=f"Load item {i}",
            link=server.url(f"/gone/{i}.html"),  # 404: the summary is used, no extraction
            guid=f"load-{i}",
            summary=f"Municipal notice number {i} about road works.",
            published=now,
        )
        path = f"/feed/{i}.xml"
        server.routes[path] = Route(body=rss([item], title=path), etag=f'"v{i}"')
        feeds[f"Load {i:04d}"] = server.url(path)
    return feeds


def _sample(daemon: Daemon, *, seconds: float) -> list[Sample]:
    started = time.monotonic()
    samples = []
    while time.monotonic() - started < seconds and daemon.alive():
        rss, fds = _usage(daemon.pid)
        samples.append(Sample(at=time.monotonic() - started, rss_mb=rss, fds=fds))
        time.sleep(1.0)
    return samples


def _usage(pid: int) -> tuple[float, int]:
    return proc_status_mb(pid, "VmRSS"), len(os.listdir(f"/proc/{pid}/fd"))


def _verdict(
    *, size: Size, samples: list[Sample], polls: Counter[str], errors: int, code: int | None
) -> Case:
    warm = [s for s in samples if s.at >= size.warmup] or samples[-1:]
    rss_growth = max(s.rss_mb for s in warm) - warm[0].rss_mb if warm else 0.0
    fd_growth = max(s.fds for s in warm) - warm[0].fds if warm else 0
    counts = [polls.get(f"/feed/{i}.xml", 0) for i in range(size.feeds)]
    expected = size.seconds / size.interval
    floor = max(int(expected * MIN_POLL_SHARE), 2)
    problems = []
    if rss_growth >= MAX_RSS_GROWTH_MB:
        problems.append(f"RSS grew {rss_growth:.1f} MB after warm-up")
    if max((s.fds for s in warm), default=0) >= MAX_FDS or fd_growth > MAX_FD_GROWTH:
        problems.append(f"open files: up to {max(s.fds for s in warm)}, growth {fd_growth}")
    if min(counts) < floor:
        problems.append(f"{sum(c < floor for c in counts)} feeds polled fewer than {floor} times")
    if len(samples) < size.seconds * 0.8:
        problems.append(f"the daemon died after {samples[-1].at if samples else 0:.0f}s")
    if code != 0:
        problems.append(f"exit code {code} on SIGTERM")
    return Case(
        group=GROUP,
        name=f"{size.feeds} feeds every {size.interval:g}s for {size.seconds:g}s",
        proves=(
            f"after {size.warmup:g}s of warm-up the daemon's RSS grows < {MAX_RSS_GROWTH_MB:g} MB, "
            f"it keeps < {MAX_FDS} files open (growth ≤ {MAX_FD_GROWTH}), and every feed is "
            f"polled at least {MIN_POLL_SHARE:.0%} of the times its interval allows"
        ),
        passed=not problems,
        figures={
            "RSS MB at warm-up": round(warm[0].rss_mb, 1) if warm else 0.0,
            "RSS growth MB": round(rss_growth, 1),
            "RSS MB at end": round(samples[-1].rss_mb, 1) if samples else 0.0,
            "fds max": max((s.fds for s in warm), default=0),
            "fd growth": fd_growth,
            "polls/feed min": min(counts),
            "median": statistics.median(counts),
            "expected": round(expected, 1),
            "errors logged": errors,
        },
        detail="; ".join(problems),
    )
