"""``make bench``: every figure of the performance table, measured in this run.

    .venv/bin/python -m bench [--runs N] [--naive-runs N] [--memory-runs N] [--only SECTION ...]

Sections: throughput (floor, new articles, naive peer), repoll, classifier, memory, stories,
startup (commands from a fresh process), steady (a running daemon measured from outside, and
the alert latency).
Prints a table (median, min, max of the runs; ratios; goals), also as JSON in bench/results.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trafilatura

from bench import server
from bench.classifier_speed import ClassifierRun, run_classifier
from bench.common import SEEDS_DIR, Row, cores, corpus_dir, load_average, stat
from bench.memory import MEMORY_FEEDS, STORED_ARTICLES, MemoryRun, run_memory
from bench.repoll import REPOLL_FEEDS, RepollRun, run_repoll
from bench.report import print_table
from bench.startup import GOALS as STARTUP_GOALS
from bench.startup import Timing, run_startup
from bench.steady import ALERT_GOAL_SECONDS, SteadyRun, run_steady
from bench.stories import GOAL_MS as STORY_GOAL_MS
from bench.stories import run as run_stories
from bench.throughput import Interleaved, run_interleaved
from monitor.classify import load_classifier

SECTIONS = ("throughput", "repoll", "classifier", "memory", "stories", "startup", "steady")
RESULTS = Path(__file__).resolve().parent / "results.json"
FLOOR_GOAL = 1.5
MEMORY_GOAL_MB = 150.0
CORPUS_PAGES = 181
COMMAND = "make bench"


class Progress:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    def __call__(self, message: str) -> None:
        print(
            f"[{time.perf_counter() - self.started:6.1f}s] {message}", file=sys.stderr, flush=True
        )


def throughput_rows(t: Interleaved) -> list[Row]:
    n = cores()
    floor = [f["cpu_seconds"] / n for f in t.floor]
    floor_cpu = stat([f["cpu_seconds"] for f in t.floor])
    for poll in t.polls:
        if poll.articles != CORPUS_PAGES or poll.outcomes != ("ok",):
            raise RuntimeError(f"new-articles run incomplete: {poll}")
    walls = [p.wall_seconds for p in t.polls]
    ratios = [w / f for w, f in zip(walls, floor, strict=True)]
    cpu = [p.main_cpu_seconds + p.worker_cpu_seconds for p in t.polls]
    cpu_ratios = [c / f["cpu_seconds"] for c, f in zip(cpu, t.floor, strict=True)]
    ratio = stat(ratios)
    others = stat([p.others_cores for p in t.polls]).median
    rows = [
        Row(
            "1 Floor",
            f"bare trafilatura.extract, CPU ÷ {n} cores",
            "s",
            stat(floor),
            note=f"{CORPUS_PAGES} pages; CPU {floor_cpu.median:.2f} s",
        ),
        Row(
            "2 New articles",
            f"{CORPUS_PAGES} pages via 10 feeds, wall",
            "s",
            stat(walls),
            note=f"all {CORPUS_PAGES} stored and scored, "
            f"{min(p.extracted for p in t.polls)} by extraction",
        ),
        Row(
            "2 New articles",
            "ratio to the floor",
            "×",
            ratio,
            goal=f"≤ {FLOOR_GOAL:g}×",
            holds=ratio.median <= FLOOR_GOAL,
            note=f"paired run by run; other processes kept {others:.2f} cores busy (median)",
        ),
        Row(
            "2 New articles",
            "CPU, daemon + extraction workers",
            "s",
            stat(cpu),
            note=f"{stat(cpu_ratios).median:.2f}× the floor's CPU; daemon "
            f"{stat([p.main_cpu_seconds for p in t.polls]).median:.2f} s, workers "
            f"{stat([p.worker_cpu_seconds for p in t.polls]).median:.2f} s",
        ),
        Row(
            "2 New articles",
            "start: app, model from cache, workers",
            "s",
            stat([p.start_seconds for p in t.polls]),
            note="before the clock; not in the wall time",
        ),
    ]
    if t.monitor_extraction:
        ext = [m["cpu_seconds"] / n for m in t.monitor_extraction]
        rows.append(
            Row(
                "2 New articles",
                f"monitor's extraction call, CPU ÷ {n} cores",
                "s",
                stat(ext),
                note=f"{stat(ext).median / stat(floor).median:.2f}× the floor (text only)",
            )
        )
    if t.naive:
        naive = [r["wall_seconds"] for r in t.naive]
        speedup = [r / w for r, w in zip(naive, walls, strict=False)]
        rows += [
            Row(
                "3 Naive peer",
                "feedparser(url) + fetch_url, sequential",
                "s",
                stat(naive),
                note="same extraction call, classifier and SQLite inserts",
            ),
            Row("3 Naive peer", "monitor's speed-up over it", "×", stat(speedup)),
        ]
    return rows


def repoll_rows(runs: list[RepollRun]) -> list[Row]:
    for r in runs:
        if r.not_modified != REPOLL_FEEDS or r.feed_requests != REPOLL_FEEDS or r.other_requests:
            raise RuntimeError(f"re-poll run did other work than {REPOLL_FEEDS} 304s: {r}")
    per_feed = [1000 * r.cpu_seconds / r.feeds for r in runs]
    return [
        Row(
            "4 Unchanged re-poll",
            "CPU per feed",
            "ms",
            stat(per_feed),
            note=f"{REPOLL_FEEDS} feeds, all 304, no article fetched",
        ),
        Row(
            "4 Unchanged re-poll",
            f"wall, {REPOLL_FEEDS} feeds",
            "s",
            stat([r.wall_seconds for r in runs]),
        ),
    ]


def classifier_rows(runs: list[ClassifierRun]) -> list[Row]:
    words = runs[0].words
    return [
        Row(
            "5 Classifier",
            "scoring, one core",
            "articles/s",
            stat([r.articles_per_second for r in runs]),
            note=f"~{words:.0f}-word articles",
        ),
        Row("5 Classifier", "model build (seeds)", "s", stat([r.build_seconds for r in runs])),
        Row("5 Classifier", "model load (cache)", "s", stat([r.load_seconds for r in runs])),
    ]


def memory_rows(runs: list[MemoryRun]) -> list[Row]:
    peak = stat([r.daemon_peak_mb for r in runs])
    workers = [max(r.worker_peaks_mb, default=0.0) for r in runs]
    counts = {len(r.worker_peaks_mb) for r in runs}
    total = [r.daemon_peak_mb + sum(r.worker_peaks_mb) for r in runs]
    return [
        Row(
            "6 Memory",
            "idle daemon, no feeds: peak RSS",
            "MB",
            stat([r.idle_peak_mb for r in runs]),
            note="imports + model loaded: the floor of the figure below",
        ),
        Row(
            "6 Memory",
            "daemon peak RSS (main process)",
            "MB",
            peak,
            goal=f"≤ {MEMORY_GOAL_MB:g} MB",
            holds=peak.median <= MEMORY_GOAL_MB,
            note=f"{MEMORY_FEEDS:,} feeds polled, {STORED_ARTICLES:,} articles stored; "
            f"exit codes {sorted({r.exit_code for r in runs})}",
        ),
        Row(
            "6 Memory",
            "peak RSS of one extraction worker",
            "MB",
            stat(workers),
            note=f"{'/'.join(map(str, sorted(counts)))} spawn workers",
        ),
        Row("6 Memory", "daemon + all workers (sum of peaks)", "MB", stat(total)),
        Row(
            "6 Memory",
            f"start → {MEMORY_FEEDS:,} feeds polled",
            "s",
            stat([r.poll_seconds for r in runs]),
            note="incl. 181 new pages extracted",
        ),
    ]


STORY_ARCHIVE = 100_000
STORY_ARTICLES = 60  # per run; each run takes different texts from the dev file


def story_rows(runs: list[dict[str, float]]) -> list[Row]:
    total = stat([r["story_ms"] for r in runs])
    return [
        Row(
            "7 Stories",
            f"story assignment per article, {STORY_ARCHIVE:,} stored",
            "ms",
            total,
            goal=f"< {STORY_GOAL_MS:g} ms",
            holds=total.median < STORY_GOAL_MS,
            note="signature + band-index look-up + band-key writes",
        ),
        Row("7 Stories", "… MinHash signature", "ms", stat([r["signature_ms"] for r in runs])),
        Row("7 Stories", "… candidates + decision", "ms", stat([r["lookup_ms"] for r in runs])),
        Row("7 Stories", "… 64 band keys written", "ms", stat([r["band_writes_ms"] for r in runs])),
        Row(
            "7 Stories",
            "archive fill (bench set-up)",
            "s",
            stat([runs[0]["fill_s"]]),
            note=f"{STORY_ARTICLES} real texts per run",
        ),
    ]


def startup_rows(timings: list[Timing]) -> list[Row]:
    rows = []
    for t in timings:
        goal = STARTUP_GOALS.get(t.command)
        rows.append(
            Row(
                "8 Start-up",
                f"monitor {t.command}, wall",
                "s",
                t.wall,
                goal=f"≤ {goal:g} s" if goal else "",
                holds=t.wall.median <= goal if goal else None,
                note=f"CPU {t.cpu.median:.2f} s (min {t.cpu.low:.2f})",
            )
        )
    return rows


def steady_rows(runs: list[SteadyRun]) -> list[Row]:
    for r in runs:
        if r.articles != CORPUS_PAGES:
            raise RuntimeError(f"steady run stored {r.articles} articles, not {CORPUS_PAGES}")
    wall_ratio = stat([r.wall_ratio for r in runs])
    cpu_ratio = stat([r.cpu_ratio for r in runs])
    last = stat([max(r.alert_gaps) for r in runs])
    parts = {k: stat([r.parts[k] for r in runs]).median for k in runs[0].parts}
    return [
        Row(
            "9 Steady (outside)",
            f"OPML import → {CORPUS_PAGES} stored, wall",
            "s",
            stat([r.wall_seconds for r in runs]),
            note="running daemon, 10 feeds, tick 0.2 s",
        ),
        Row(
            "9 Steady (outside)",
            "wall ÷ floor (floor CPU ÷ cores)",
            "×",
            wall_ratio,
            goal=f"≤ {FLOOR_GOAL:g}×",
            holds=wall_ratio.median <= FLOOR_GOAL,
            note=f"load average {stat([r.load for r in runs]).median:.1f} at the start",
        ),
        Row(
            "9 Steady (outside)",
            "CPU of all monitor processes ÷ floor CPU",
            "×",
            cpu_ratio,
            goal=f"≤ {FLOOR_GOAL:g}×",
            holds=cpu_ratio.median <= FLOOR_GOAL,
            note=", ".join(f"{k} {v:.2f} s" for k, v in parts.items()),
        ),
        Row(
            "9 Steady (outside)",
            "last alert after its match stored",
            "s",
            last,
            goal=f"≤ {ALERT_GOAL_SECONDS:g} s",
            holds=last.median <= ALERT_GOAL_SECONDS,
            note=f"{len(runs[0].alert_gaps)} emails per run to aiosmtpd",
        ),
    ]


def machine() -> dict[str, Any]:
    return {
        "cores": cores(),
        "python": platform.python_version(),
        "trafilatura": trafilatura.__version__,
        "platform": platform.platform(),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per figure [5]")
    parser.add_argument("--naive-runs", type=int, default=3, help="runs of the naive peer [3]")
    parser.add_argument("--memory-runs", type=int, default=3, help="daemon memory runs [3]")
    parser.add_argument("--steady-runs", type=int, default=3, help="outside-in daemon runs [3]")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    corpus = corpus_dir()
    if not (corpus / "aeb" / "html").is_dir():
        sys.exit(f"bench: corpus not found at {corpus} (set MONITOR_CORPUS)")
    progress = Progress()
    load_before = load_average()
    rows: list[Row] = []
    with (
        tempfile.TemporaryDirectory(prefix="monitor-bench-") as tmp,
        server.running(corpus) as base,
    ):
        work = Path(tmp)
        model_cache = work / "model"
        load_classifier(seeds_dir=SEEDS_DIR, threshold=0.5, cache_dir=model_cache)
        progress(f"server at {base}; corpus {corpus}; {cores()} cores")
        if "throughput" in args.only:
            rows += throughput_rows(
                run_interleaved(
                    base=base,
                    workdir=work / "throughput",
                    model_cache=model_cache,
                    runs=args.runs,
                    naive_runs=min(args.naive_runs, args.runs),
                    progress=progress,
                )
            )
        if "repoll" in args.only:
            (work / "repoll").mkdir()
            rows += repoll_rows(
                run_repoll(
                    base=base,
                    workdir=work / "repoll",
                    model_cache=model_cache,
                    runs=args.runs,
                    progress=progress,
                )
            )
        if "classifier" in args.only:
            rows += classifier_rows(run_classifier(runs=args.runs, progress=progress))
        if "memory" in args.only:
            rows += memory_rows(
                run_memory(
                    base=base,
                    workdir=work,
                    model_cache=model_cache,
                    runs=args.memory_runs,
                    progress=progress,
                )
            )
    if "stories" in args.only:
        progress(f"stories: filling an archive of {STORY_ARCHIVE:,} articles")
        rows += story_rows(
            run_stories(
                stored=STORY_ARCHIVE, articles=STORY_ARTICLES, corpus=corpus, runs=args.runs
            )
        )
    if "startup" in args.only:
        progress(f"startup: --help, status, one-page poll --once, {args.runs} runs each")
        rows += startup_rows(run_startup(corpus=corpus, runs=args.runs))
    if "steady" in args.only:
        rows += steady_rows(run_steady(corpus=corpus, runs=args.steady_runs, progress=progress))
    elapsed = time.perf_counter() - progress.started
    loads = (load_before, load_average())
    print_table(rows, elapsed=elapsed, loads=loads, command=COMMAND)
    results = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": COMMAND,
        "machine": machine(),
        "load_average_1min": {"start": loads[0], "end": loads[1]},
        "elapsed_seconds": elapsed,
        "rows": [r.as_json() for r in rows],
    }
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"results written to {args.out}")
