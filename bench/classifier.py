"""Speed and memory of the relevance classifier on one core.

    .venv/bin/python -m bench.classifier [--articles N]

Prints: model build seconds (seeds only), model load seconds (from the on-disk cache),
articles scored per second for ~800-word articles (score with reasons), and memory: the
process's resident size after imports, after loading, and its peak, in MB.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

from monitor.classify import Classifier, load_classifier, read_seeds, train  # noqa: E402
from monitor.classify.text import paragraphs  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = REPO_ROOT / "seed_articles"
ARTICLE_WORDS = 800
THRESHOLD = 0.5


def pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def rss_mb(field: str = "VmRSS") -> float:
    """Resident memory from /proc (VmRSS now, VmHWM peak), in MB; 0 where unavailable."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def articles(count: int) -> list[tuple[str, str]]:
    """~800-word articles made by shuffling the seed paragraphs (deterministic)."""
    pool = [p for ex in read_seeds(SEEDS_DIR) for p in paragraphs(ex.text)]
    rng = random.Random(0)
    made = []
    for n in range(count):
        picked: list[str] = []
        while sum(len(p.split()) for p in picked) < ARTICLE_WORDS:
            picked.append(rng.choice(pool))
        made.append((f"Article {n}: {picked[0][:60]}", "\n\n".join(picked)))
    return made


def throughput(classifier: Classifier, docs: Sequence[tuple[str, str]]) -> float:
    started = time.perf_counter()
    for title, text in docs:
        classifier.score(title=title, text=text)
    return len(docs) / (time.perf_counter() - started)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    args = parser.parse_args(argv)
    pin_one_core()
    baseline = rss_mb()
    with tempfile.TemporaryDirectory() as cache:
        _, report = train(seeds_dir=SEEDS_DIR, threshold=THRESHOLD, cache_dir=Path(cache))
        started = time.perf_counter()
        classifier = load_classifier(
            seeds_dir=SEEDS_DIR, threshold=THRESHOLD, cache_dir=Path(cache)
        )
        load_seconds = time.perf_counter() - started
    docs = articles(args.articles)
    words = sum(len(t.split()) for _, t in docs) / len(docs)
    rate = throughput(classifier, docs)
    print(f"model build: {report.build_seconds:.2f} s (seeds only)")
    print(f"model load from cache: {load_seconds:.3f} s")
    print(f"scoring: {rate:.0f} articles/s on one core ({len(docs)} articles, {words:.0f} words)")
    print(
        f"memory: {baseline:.0f} MB after imports, {rss_mb():.0f} MB after scoring, "
        f"peak {rss_mb('VmHWM'):.0f} MB (classifier: {rss_mb('VmHWM') - baseline:.0f} MB)"
    )


if __name__ == "__main__":
    main()
