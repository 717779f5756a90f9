"""Third-party text printed by the commands comes out literally. A real feed server on 127.0.0.1
serves titles and a redirect built to be read as terminal markup; real ``monitor`` subprocesses
(with a colour terminal forced, so a ``[link=…]`` would become a clickable escape) print them."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import seed_pages
from tests.httpserver import FeedServer, Item, Route, rss
from tests.test_cli import cli_config

HOSTILE_TITLES = (
    "Pakistan and Russia [/bold] sign a deal",
    "[link=http://x]y[/link] Islamabad and Moscow",
    '=HYPERLINK("http://x","y") Pakistan Russia',
    "<script>alert(1)</script> Moscow talks",
    "+cmd|' /C calc'!A0 Pakistan Russia trade",
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HOSTILE_FEED = "Wire [/bold] [link=http://x]y[/link]"
REDIRECT_PATH = "/gone[/bold]%5B/bold%5D.xml"  # a redirect target that 404s
SGR = re.compile(r"\x1b\[[0-9;]*m")
OSC8 = "\x1b]8;"  # a terminal hyperlink

# command -> what must appear literally in its output
CASES = {
    ("poll", "--once"): ("[/bold]%5B/bold%5D", "1/2 feeds polled"),
    ("status",): (HOSTILE_FEED, "[/bold]%5B/bold%5D"),
    ("feeds", "list"): (HOSTILE_FEED,),
    ("matches", "list"): (*HOSTILE_TITLES, HOSTILE_FEED),
}


def monitor(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "400", "FORCE_COLOR": "1", "TTY_COMPATIBLE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture
def hostile_config(server: FeedServer, tmp_path: Path) -> Path:
    items = []
    for title, page in zip(HOSTILE_TITLES, seed_pages(), strict=False):
        server.routes[page.path] = Route(body=page.body, content_type="text/html; charset=utf-8")
        items.append(Item(title=title, link=server.url(page.path)))
    server.routes["/wire.xml"] = Route(body=rss(items))
    server.routes["/moved.xml"] = Route(status=302, headers={"Location": REDIRECT_PATH})
    feeds = {HOSTILE_FEED: server.url("/wire.xml"), "moved": server.url("/moved.xml")}
    return cli_config(tmp_path, feeds=feeds)


def test_third_party_text_is_printed_literally(hostile_config: Path) -> None:
    for args, expected in CASES.items():
        done = monitor(hostile_config, *args)
        assert done.returncode == 0, (args, done.stderr[-2000:])
        assert OSC8 not in done.stdout, args
        plain = SGR.sub("", done.stdout)
        missing = [text for text in expected if text not in plain]
        assert not missing, (args, missing, plain)


@pytest.mark.parametrize("command", [("matches", "list"), ("matches", "export")])
def test_both_csv_outputs_neutralise_formulas(hostile_config: Path, command: tuple[str]) -> None:
    assert monitor(hostile_config, "poll", "--once").returncode == 0
    done = monitor(hostile_config, *command, "--format", "csv")
    assert done.returncode == 0, done.stderr[-2000:]
    rows = list(csv.DictReader(io.StringIO(done.stdout, newline="")))
    titles = {r["title"] for r in rows}
    formulas = [t for t in HOSTILE_TITLES if t.startswith(FORMULA_START)]
    assert titles >= {"'" + t for t in formulas}, titles
    assert not [v for r in rows for v in r.values() if v.startswith(FORMULA_START)]
