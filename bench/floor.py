"""The yardstick: CPU seconds of bare ``trafilatura.extract`` over the corpus pages, in a fresh
interpreter (nothing else on its heap), after one warm-up call.

    .venv/bin/python -m bench.floor CORPUS_DIR [--as-monitor]

``--as-monitor`` times the monitor's own extraction call instead (``extract_article``: the
text without trafilatura's metadata pass, plus the page's own tags). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import trafilatura

from bench.server import page_ids, read_page
from monitor.extract import extract_article


def bare(html: bytes) -> object:
    return trafilatura.extract(html)


def as_monitor(html: bytes) -> object:
    return extract_article(html=html)


def measure(pages: list[bytes], extract: Callable[[bytes], object]) -> dict[str, float]:
    extract(pages[0])  # imports and lazy tables, as in a warm worker
    cpu, wall = time.process_time(), time.perf_counter()
    found = sum(extract(html) is not None for html in pages)
    return {
        "cpu_seconds": time.process_time() - cpu,
        "wall_seconds": time.perf_counter() - wall,
        "pages": len(pages),
        "extracted": found,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--as-monitor", action="store_true")
    args = parser.parse_args()
    pages = [read_page(args.corpus, pid) for pid in page_ids(args.corpus)]
    print(json.dumps(measure(pages, as_monitor if args.as_monitor else bare)))


if __name__ == "__main__":
    main()
