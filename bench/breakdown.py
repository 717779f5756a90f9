"""Where the daemon's own CPU goes in the new-articles figure: each pipeline step run on its own,
in order, over the 181 corpus pages served by the bench server, and extraction through the
worker pool alone beside the floor. The README's explanation of the ratio quotes these figures.

    .venv/bin/python -m bench.breakdown [--runs N]

Each step is timed on the calling process's CPU clock (the daemon's share); the pool line also
gives the wall time and the workers' CPU. Steps run one after another, not concurrently, so
their sum is below the daemon CPU of ``make bench`` (which adds thread switching).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from bench import server
from bench.common import cores, corpus_dir, process_cpu_seconds, stat
from bench.throughput import floor_run, start_app, worker_pids
from monitor import feeds, stories
from monitor.app import App
from monitor.models import Article, Entry, OutboxPolicy, utcnow

T = TypeVar("T")
POOL_THREADS = 16  # pages handed to the workers at once, as 4 feeds × 4 entry workers do


def timed(steps: dict[str, list[float]], name: str, work: Callable[[], T]) -> T:
    started = time.process_time()
    result = work()
    steps.setdefault(name, []).append(time.process_time() - started)
    return result


def one_run(app: App, steps: dict[str, list[float]]) -> None:
    st = app.stages
    listed = app.store.feeds()
    got = timed(steps, "fetch feeds", lambda: [st.fetcher.fetch(f.url) for f in listed])
    parsed = timed(
        steps,
        "parse feeds",
        lambda: [
            feeds.parse_feed(content=r.content, content_type=r.content_type, url=r.url) for r in got
        ],
    )
    entries = [(f.id or 0, e) for f, p in zip(listed, parsed, strict=True) for e in p.entries]
    pages = timed(
        steps, "fetch pages", lambda: [st.fetcher.fetch(e.link or "") for _, e in entries]
    )
    extracted = timed(
        steps, "hand pages to workers", lambda: [st.extractor(html=p.content) for p in pages]
    )
    texts = [(e, x.text if x else e.summary) for (_, e), x in zip(entries, extracted, strict=True)]
    model = st.classifier()
    scores = timed(steps, "score", lambda: [model.score(title=e.title, text=t) for e, t in texts])
    sigs = timed(steps, "MinHash", lambda: [stories.signature(f"{e.title}\n{t}") for e, t in texts])
    rows = zip(entries, texts, scores, sigs, strict=True)
    timed(steps, "store with story index", lambda: [_store(app, *row) for row in rows])


def _store(
    app: App, entry: tuple[int, Entry], text: tuple[Entry, str], score: Any, sig: Any
) -> None:
    feed_id, e = entry
    article = Article(
        feed_id=feed_id,
        entry_key=e.key,
        canonical_url=e.canonical_url or e.key,
        url=e.link or "",
        title=e.title,
        text=text[1],
        score=score.value,
        relevant=score.relevant,
        reasons=json.dumps(list(score.reasons)),
        extraction="trafilatura",
        signature=sig.values,
    )
    since = utcnow() - timedelta(seconds=app.stages.story_window)
    candidates = app.store.story_candidates(bands=sig.bands, since=since)
    story = stories.best_story(sig, candidates, threshold=app.stages.story_threshold)
    app.store.save_article(article=article, outbox=OutboxPolicy(), story_id=story, bands=sig.bands)


def pool_alone(app: App, pages: list[bytes]) -> dict[str, float]:
    """The 181 pages through the extraction workers, nothing else: wall, main and worker CPU."""
    pids = worker_pids(app)
    workers, cpu, wall = (
        sum(map(process_cpu_seconds, pids)),
        time.process_time(),
        time.perf_counter(),
    )
    with ThreadPoolExecutor(POOL_THREADS) as pool:
        list(pool.map(lambda html: app.extractor(html=html), pages))
    return {
        "wall": time.perf_counter() - wall,
        "main cpu": time.process_time() - cpu,
        "workers cpu": sum(map(process_cpu_seconds, pids)) - workers,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    steps: dict[str, list[float]] = {}
    pool: dict[str, list[float]] = {}
    corpus = corpus_dir()
    pages = [server.read_page(corpus, pid) for pid in server.page_ids(corpus)]
    with server.running(corpus) as base:
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                app, _ = start_app(base=base, workdir=Path(tmp), model_cache=Path(tmp) / "m")
                try:
                    one_run(app, steps)
                    for key, value in pool_alone(app, pages).items():
                        pool.setdefault(key, []).append(value)
                finally:
                    app.close()
            pool.setdefault("floor", []).append(floor_run()["cpu_seconds"] / cores())
    print(f"daemon CPU per step over {len(pages)} pages (median of {args.runs}, seconds):")
    for name, values in steps.items():
        print(f"  {name:<24} {stat(values).median:6.3f}")
    print(f"  {'sum':<24} {sum(stat(v).median for v in steps.values()):6.3f}")
    floor = stat(pool.pop("floor")).median
    print("extraction through the worker pool alone (median, seconds):")
    for name, values in pool.items():
        print(f"  {name:<24} {stat(values).median:6.3f}")
    ratio = stat(pool["wall"]).median / floor
    print(f"  {'floor (bench.floor)':<24} {floor:6.3f}   pool wall ÷ floor {ratio:.2f}×")


if __name__ == "__main__":
    main()
