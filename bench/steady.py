"""Steady state measured from outside: a running ``monitor run`` daemon is handed 10 feeds by
``monitor feeds import-opml``; they bring the 181 corpus pages from the bench server. The clock
runs from the import to the last article stored; alerts go to a real SMTP server (aiosmtpd).

    .venv/bin/python -m bench.steady [--runs N]     (prints a table; the last line is JSON)

Per run, beside the wall time:
- CPU of every monitor process (daemon, its extraction workers, the import command) over the
  clock, ÷ the CPU of bare ``trafilatura.extract`` over the same pages, measured in the same run
  (``bench.floor``): the CPU ratio, steadier than wall time on a shared machine;
- wall ÷ (floor CPU ÷ cores): the ratio the issue's "≤ 1.5× the floor" is about;
- alert latency: then a feed of the seed articles (the relevant ones match) is added with
  ``monitor feeds add``; each email's arrival at the SMTP server minus its match's
  ``created_at``. The corpus pages themselves are not about Pakistan–Russia: no alerts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from bench import server
from bench.common import (
    REPO_ROOT,
    SEEDS_DIR,
    SUBPROCESS_TIMEOUT,
    Stat,
    child_pids,
    cores,
    corpus_dir,
    load_average,
    process_cpu_seconds,
    run_json,
    stat,
)
from bench.server import NEWS_FEEDS
from monitor.classify import load_classifier
from tests import support
from tests.httpserver import FeedServer, Item, Route, html_page, rss
from tests.smtpserver import SMTPServer

RUNS = 3
CORPUS_PAGES = 181
FLOOR_GOAL = 1.5  # × the floor (issue 17)
ALERT_GOAL_SECONDS = 2.0
TICK = "0.2s"
DEADLINE_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class SteadyRun:
    wall_seconds: float
    monitor_cpu_seconds: float  # daemon + workers + the import command, over the clock
    floor_cpu_seconds: float
    parts: dict[str, float]  # CPU seconds: daemon, workers, import command
    articles: int
    alert_gaps: tuple[float, ...]  # seconds, one per email
    load: float

    @property
    def cpu_ratio(self) -> float:
        return self.monitor_cpu_seconds / self.floor_cpu_seconds

    @property
    def wall_ratio(self) -> float:
        return self.wall_seconds / (self.floor_cpu_seconds / cores())


class Daemon:
    """``monitor run`` as a child process; its log collected, its CPU (and its children's) read
    from /proc while it runs."""

    def __init__(self, *, config: Path, cwd: Path) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run"],
            cwd=cwd,
            env=monitor_env(config),
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stderr is not None
        threading.Thread(target=self._read, args=(self.proc.stderr,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line)

    def wait_for(self, text: str, *, seconds: float = 120.0) -> None:
        deadline = time.monotonic() + seconds
        while not any(text in line for line in self.lines):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"daemon: no {text!r}:\n{''.join(self.lines)[-3000:]}")
            time.sleep(0.05)

    def cpu(self, known: dict[int, float]) -> dict[int, float]:
        """CPU seconds so far of the daemon and each live child, merged into ``known`` (a child
        that has exited keeps its last reading)."""
        for pid in [self.proc.pid, *child_pids(self.proc.pid)]:
            try:
                known[pid] = process_cpu_seconds(pid)
            except OSError:
                continue
        return known

    def wait_settled(self, *, seconds: float = 120.0) -> None:
        """Until the daemon and its workers have finished starting: no CPU used for 0.5 s."""
        deadline = time.monotonic() + seconds
        last = self.cpu({})
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self.cpu({})
            if now.keys() == last.keys() and sum(now.values()) - sum(last.values()) < 0.05:
                return
            last = now
        raise RuntimeError("daemon: still busy starting")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def monitor_env(config: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT), "MONITOR_CONFIG": str(config)}


def opml(base: str) -> str:
    outlines = "".join(
        f'<outline type="rss" text="news-{i}" xmlUrl="{base}/news/{i}.xml"/>'
        for i in range(NEWS_FEEDS)
    )
    return f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>'


def count(db: Path, sql: str) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        return int(conn.execute(sql).fetchone()[0])


def alert_gaps(db: Path, smtp: SMTPServer) -> tuple[float, ...]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        matches = conn.execute(
            "SELECT a.title, m.created_at FROM match m JOIN article a ON a.id = m.article_id"
        ).fetchall()
    gaps = []
    for message, received in zip(smtp.messages, smtp.received_at, strict=True):
        subject = str(message["Subject"])
        for title, created in matches:
            if subject.startswith(f"[monitor] {title[:60]}"):
                stored = datetime.fromisoformat(created)
                gaps.append(received - (stored.replace(tzinfo=stored.tzinfo or UTC)).timestamp())
                break
    return tuple(gaps)


def wait_until(condition: Callable[[], bool], *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"steady: timed out waiting for {what}")
        time.sleep(0.02)


def seed_feed(feeds: FeedServer) -> tuple[str, int]:
    """The seed articles as pages and a feed on ``feeds``: (feed URL, number of pages)."""
    items = []
    for path in sorted(SEEDS_DIR.glob("*.txt")):
        lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
        title = max(lines[:4], key=len)
        feeds.routes[f"/seed/{path.stem}.html"] = Route(
            body=html_page(title=title, text="\n".join(lines)),
            content_type="text/html; charset=utf-8",
        )
        items.append(Item(title=title, link=feeds.url(f"/seed/{path.stem}.html"), guid=None))
    feeds.routes["/seeds.xml"] = Route(body=rss(items))
    return feeds.url("/seeds.xml"), len(items)


def alerts_phase(
    *, config: Path, db: Path, smtp: SMTPServer, seeds: FeedServer
) -> tuple[float, ...]:
    """Add the seeds feed to the running daemon; wait for every alert sent; the gaps."""
    url, pages = seed_feed(seeds)
    before = count(db, "SELECT count(*) FROM article")
    subprocess.run(
        [sys.executable, "-m", "monitor", "feeds", "add", url, "--name", "seeds"],
        cwd=config.parent,
        env=monitor_env(config),
        capture_output=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=True,
    )

    def delivered() -> bool:
        stored = count(db, "SELECT count(*) FROM article") >= before + pages
        alerts = count(db, "SELECT count(*) FROM alert")
        sent = count(db, "SELECT count(*) FROM alert WHERE status = 'sent'")
        return stored and alerts > 0 and sent == alerts == len(smtp.messages)

    wait_until(delivered, seconds=120, what="the seed articles' alerts")
    return alert_gaps(db, smtp)


def one_run(*, base: str, workdir: Path, model_cache: Path, corpus: Path) -> SteadyRun:
    workdir.mkdir(parents=True)
    db, config, feeds = workdir / "monitor.db", workdir / "monitor.toml", workdir / "feeds.opml"
    smtp = SMTPServer().start()
    seeds = FeedServer().start()
    support.write_config(
        config,
        storage=f"sqlite:///{db}",
        seeds=SEEDS_DIR,
        cache_dir=model_cache,
        fetch={"allow_private_networks": True},
        scheduler={"tick": TICK},
        alerts=[smtp.url],
    )
    feeds.write_text(opml(base), encoding="utf-8")
    floor = run_json("bench.floor", str(corpus))["cpu_seconds"]
    daemon = Daemon(config=config, cwd=workdir)
    try:
        daemon.wait_for("scheduler: started")
        daemon.wait_settled()  # workers up, as in a daemon that has been running
        before = dict(daemon.cpu({}))
        load = load_average()
        waited = children_cpu()
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "monitor", "feeds", "import-opml", str(feeds)],
            cwd=workdir,
            env=monitor_env(config),
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT,
            check=True,
        )
        import_cpu = children_cpu() - waited
        seen: dict[int, float] = {}

        def all_stored() -> bool:
            daemon.cpu(seen)  # workers' last readings, in case one is replaced
            return count(db, "SELECT count(*) FROM article") >= CORPUS_PAGES

        wait_until(all_stored, seconds=DEADLINE_SECONDS, what=f"{CORPUS_PAGES} articles")
        wall = time.perf_counter() - started
        after = daemon.cpu(seen)
        spent = {pid: v - before.get(pid, 0.0) for pid, v in after.items()}
        parts = {
            "daemon": spent.pop(daemon.proc.pid),
            "workers": sum(spent.values()),
            "import": import_cpu,
        }
        articles = count(db, "SELECT count(*) FROM article")
        gaps = alerts_phase(config=config, db=db, smtp=smtp, seeds=seeds)
    finally:
        daemon.stop()
        smtp.stop()
        seeds.stop()
    return SteadyRun(
        wall_seconds=wall,
        monitor_cpu_seconds=sum(parts.values()),
        parts=parts,
        floor_cpu_seconds=floor,
        articles=articles,
        alert_gaps=gaps,
        load=load,
    )


def children_cpu() -> float:
    """CPU seconds of this process's children that have been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_steady(
    *, corpus: Path, runs: int, progress: Callable[[str], object] = print
) -> list[SteadyRun]:
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="monitor-steady-") as tmp,
        server.running(corpus) as base,
    ):
        model_cache = Path(tmp) / "model"
        load_classifier(seeds_dir=SEEDS_DIR, threshold=0.5, cache_dir=model_cache)
        for i in range(runs):
            workdir = Path(tmp) / f"run{i}"
            results.append(
                one_run(base=base, workdir=workdir, model_cache=model_cache, corpus=corpus)
            )
            r = results[-1]
            progress(
                f"steady run {i + 1}/{runs}: {r.wall_seconds:.2f} s wall, CPU ratio "
                f"{r.cpu_ratio:.2f}×, wall ratio {r.wall_ratio:.2f}×, last alert "
                f"{max(r.alert_gaps, default=float('nan')):.2f} s, load {r.load:.1f}; CPU "
                + ", ".join(f"{k} {v:.2f} s" for k, v in r.parts.items())
            )
    return results


def summary(runs: Sequence[SteadyRun]) -> dict[str, Stat]:
    return {
        "wall_seconds": stat([r.wall_seconds for r in runs]),
        "wall_ratio": stat([r.wall_ratio for r in runs]),
        "cpu_ratio": stat([r.cpu_ratio for r in runs]),
        "monitor_cpu_seconds": stat([r.monitor_cpu_seconds for r in runs]),
        "floor_cpu_seconds": stat([r.floor_cpu_seconds for r in runs]),
        **{
            f"{part}_cpu_seconds": stat([r.parts[part] for r in runs])
            for part in ("daemon", "workers", "import")
        },
        "last_alert_seconds": stat([max(r.alert_gaps, default=0.0) for r in runs]),
        "median_alert_seconds": stat([_median(r.alert_gaps) for r in runs]),
        "emails": stat([len(r.alert_gaps) for r in runs]),
    }


def _median(values: Sequence[float]) -> float:
    return stat(values).median if values else 0.0


def render(figures: dict[str, Stat]) -> str:
    goals = {
        "wall_ratio": f"≤ {FLOOR_GOAL:g}×",
        "cpu_ratio": f"≤ {FLOOR_GOAL:g}×",
        "last_alert_seconds": f"≤ {ALERT_GOAL_SECONDS:g} s",
    }
    lines = [f"{'figure':<22}{'median':>10}{'min':>10}{'max':>10}  goal"]
    for name, s in figures.items():
        goal = goals.get(name, "")
        lines.append(f"{name:<22}{s.median:>10.2f}{s.low:>10.2f}{s.high:>10.2f}  {goal}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.steady", description=__doc__)
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args(argv)
    runs = run_steady(
        corpus=corpus_dir(), runs=args.runs, progress=lambda m: print(m, file=sys.stderr)
    )
    figures = summary(runs)
    print(render(figures), file=sys.stderr)
    print(json.dumps({k: v.as_json() for k, v in figures.items()}))


if __name__ == "__main__":
    main()
