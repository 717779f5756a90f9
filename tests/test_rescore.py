"""`monitor rescore [--since DATE] [--alert]` over articles polled from a real feed server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import aeb_pages, publish, query, seed_pages
from tests.httpserver import FeedServer
from tests.test_cli import cli_config, invoke

STRICT = 1.0  # nothing scores 1.0: the first poll stores articles and no matches
HOOK = "json://127.0.0.1:9/hook"  # never sent to: rescore only queues alerts


def configured(tmp_path: Path, url: str, *, threshold: float) -> Path:
    config = cli_config(tmp_path, feeds={"Local news": url})
    extra = f'\n[alerts]\nurls = ["{HOOK}"]\n'
    text = config.read_text().replace("[classifier]\n", f"[classifier]\nthreshold = {threshold}\n")
    config.write_text(text + extra)
    return config


@pytest.fixture
def stored(server: FeedServer, corpus: Path, tmp_path: Path) -> Path:
    """Nine articles stored, none matched (the threshold was 1.0 when they were polled)."""
    url = publish(server, feed_path="/news.xml", pages=aeb_pages(corpus, limit=4) + seed_pages())
    config = configured(tmp_path, url, threshold=STRICT)
    code, output = invoke(config, "poll", "--once")
    assert code == 0 and "9 new articles, 0 matches" in output, output
    return configured(tmp_path, url, threshold=0.5)


def counts(config: Path) -> tuple[int, int]:
    url = config.read_text().split('url = "', 1)[1].split('"', 1)[0]
    matches = query(url, "SELECT count(*) FROM match")[0][0]
    alerts = query(url, "SELECT count(*) FROM alert")[0][0]
    return int(matches), int(alerts)


CASES = [
    # (arguments, expected lines, (matches, alerts) afterwards)
    ([], ["9 articles scored", "now relevant: 5", "matches created: 5; no alerts"], (5, 0)),
    (["--alert"], ["now relevant: 5", "matches created: 5; alerts queued"], (5, 5)),
    (["--since", "2999-01-01"], ["0 articles scored", "matches created: 0"], (0, 0)),
]


@pytest.mark.parametrize(("args", "lines", "after"), CASES, ids=["plain", "alert", "since"])
def test_rescore_creates_the_matches_it_now_finds(
    stored: Path, args: list[str], lines: list[str], after: tuple[int, int]
) -> None:
    code, output = invoke(stored, "rescore", *args)
    assert code == 0, output
    for line in lines:
        assert line in output, output
    assert counts(stored) == after


def test_rescore_twice_creates_nothing_new(stored: Path) -> None:
    assert invoke(stored, "rescore")[0] == 0
    code, output = invoke(stored, "rescore")
    assert code == 0 and "now relevant: 0" in output and "matches created: 0" in output, output
    assert counts(stored) == (5, 0)


def test_rescore_bad_date_exits_2(stored: Path) -> None:
    code, output = invoke(stored, "rescore", "--since", "last week")
    assert code == 2 and "--since" in output
