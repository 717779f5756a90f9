"""Classifier: model build and load time and articles scored per second on one core.

The measuring functions are ``bench.classifier``'s; here they run several times, pinned to one
core (the calling thread's affinity is restored afterwards).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.classifier import SEEDS_DIR, THRESHOLD, articles, pin_one_core, throughput
from monitor.classify import load_classifier, train

SCORED_ARTICLES = 500


@dataclass(frozen=True, slots=True)
class ClassifierRun:
    build_seconds: float
    load_seconds: float
    articles_per_second: float
    words: float


@contextmanager
def one_core() -> Iterator[None]:
    if not hasattr(os, "sched_getaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    pin_one_core()
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def measure_once(docs: list[tuple[str, str]]) -> ClassifierRun:
    with tempfile.TemporaryDirectory() as cache:
        _, report = train(seeds_dir=SEEDS_DIR, threshold=THRESHOLD, cache_dir=Path(cache))
        started = time.perf_counter()
        classifier = load_classifier(
            seeds_dir=SEEDS_DIR, threshold=THRESHOLD, cache_dir=Path(cache)
        )
        load_seconds = time.perf_counter() - started
    return ClassifierRun(
        build_seconds=report.build_seconds,
        load_seconds=load_seconds,
        articles_per_second=throughput(classifier, docs),
        words=sum(len(text.split()) for _, text in docs) / len(docs),
    )


def run_classifier(*, runs: int, progress: Callable[[str], None]) -> list[ClassifierRun]:
    docs = articles(SCORED_ARTICLES)
    out = []
    with one_core():
        for n in range(runs):
            out.append(measure_once(docs))
            progress(f"classifier run {n + 1}/{runs}: {out[-1].articles_per_second:.0f} articles/s")
    return out
