"""The naive peer: the loop a user would write instead of the monitor, in a fresh interpreter.

    .venv/bin/python -m bench.naive BASE_URL MODEL_CACHE_DIR DB_PATH

feedparser on each feed URL, ``trafilatura.fetch_url`` for each entry (its SSRF guard off, as the
bench server is on 127.0.0.1), the same extraction call
and classifier as the monitor, one INSERT per article; sequential. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
from pathlib import Path

import feedparser
import trafilatura
from trafilatura.settings import use_config

from bench.common import SEEDS_DIR
from bench.server import NEWS_FEEDS
from monitor.classify import load_classifier

THRESHOLD = 0.5
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS article (url TEXT PRIMARY KEY, title TEXT, text TEXT, score REAL)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("model_cache", type=Path)
    parser.add_argument("db", type=Path)
    args = parser.parse_args()
    classifier = load_classifier(
        seeds_dir=SEEDS_DIR, threshold=THRESHOLD, cache_dir=args.model_cache
    )
    config = use_config()
    config.set("DEFAULT", "SSRF_PROTECTION", "off")
    db = sqlite3.connect(args.db)
    db.execute(SCHEMA)
    started = time.perf_counter()
    stored = extracted = 0
    for index in range(NEWS_FEEDS):
        feed = feedparser.parse(f"{args.base}/news/{index}.xml")
        for entry in feed.entries:
            html = trafilatura.fetch_url(entry.link, config=config)
            doc = (
                trafilatura.bare_extraction(
                    html, url=entry.link, with_metadata=True, include_comments=False
                )
                if html
                else None
            )
            text = (getattr(doc, "text", None) or "") if doc is not None else ""
            extracted += bool(text)
            title = (getattr(doc, "title", None) if doc is not None else None) or entry.title
            score = classifier.score(title=title, text=text or entry.get("summary", ""))
            db.execute(
                "INSERT INTO article VALUES (?, ?, ?, ?)", (entry.link, title, text, score.value)
            )
            db.commit()
            stored += 1
    wall = time.perf_counter() - started
    db.close()
    print(json.dumps({"wall_seconds": wall, "articles": stored, "extracted": extracted}))


if __name__ == "__main__":
    main()
