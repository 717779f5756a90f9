"""The smaller things a new user tripped over, checked from outside: real `monitor` processes
over a real feed server on 127.0.0.1 and an SMTP port where nothing listens. One table of steps,
run in order on one database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import database_url, seed_pages
from tests.httpserver import FeedServer, Item, Route, rss
from tests.smtpserver import free_port
from tests.support import write_config

HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Step:
    args: tuple[str, ...]  # {base}: the feed server, {tmp}: the test's folder
    code: int
    shows: tuple[str, ...] = ()  # in stdout + stderr
    hides: tuple[str, ...] = ()  # nowhere in stdout + stderr


STEPS = [
    Step(("feeds", "list"), 0, ("20s", "30s"), ("0m",)),
    Step(("status",), 0, ("not polled yet", "due now"), (" ago", "from now", " ok ")),
    Step(
        ("feeds", "add", "{base}/page.html", "--name", "Page"),
        1,
        ("not an RSS or Atom document",),
        ("added feed",),
    ),
    Step(("feeds", "add", "ftp://example.org/x"), 2, ("feeds add: url: feed URL must be http",)),
    Step(
        ("feeds", "add", "{base}/two.xml", "--name", "Two", "--interval", "20s"),
        0,
        ("a feed with 1 entries", "added feed 'Two'"),
    ),
    Step(("feeds", "add", "http://127.0.0.1:9/x.xml", "--name", "Later", "--no-check"), 0),
    Step(
        (
            "feeds",
            "list",
        ),
        0,
        ("Two", "Later"),
        ("Page",),
    ),
    Step(("feeds", "import-opml", "{tmp}/missing.opml"), 2, ("cannot read",), ("Traceback",)),
    Step(
        ("feeds", "import-opml", "{tmp}/feeds.opml"),
        0,
        ("imported 2 feeds", "1 already watched, 2 skipped", "feed URL must be http", "Twenty"),
        ("Traceback",),
    ),
    Step(("feeds", "list"), 0, ("Three", "Four"), ("Bad",)),
    Step(("matches", "export", "--help"), 0, ("newest first",), ("oldest first",)),
]
HIDDEN_EVERYWHERE = ("Traceback", "pydantic", "validation error", "errors.pydantic.dev")


def opml_file(tmp_path: Path, base: str) -> Path:
    outlines = [
        ("Three", f"{base}/three.xml"),
        ("Bad", "ftp://example.org/feed"),
        ("Twenty", f"{base}/elsewhere.xml"),  # a name already watched, another URL
        ("Twenty again", f"{base}/twenty.xml"),  # a URL already watched
        ("Four", f"{base}/four.xml"),
    ]
    body = "".join(f'<outline text="{n}" xmlUrl="{u}"/>' for n, u in outlines)
    path = tmp_path / "feeds.opml"
    path.write_text(f'<opml version="2.0"><body>{body}</body></opml>', encoding="utf-8")
    return path


@pytest.fixture
def site(server: FeedServer) -> Iterator[FeedServer]:
    page = seed_pages()[0]
    server.routes[page.path] = Route(body=page.body, content_type=HTML)
    server.routes["/page.html"] = Route(body=page.body, content_type=HTML)
    feed = Route(body=rss([Item(title=page.title, link=server.url(page.path))]))
    for path in ("/twenty.xml", "/thirty.xml", "/two.xml", "/three.xml", "/four.xml"):
        server.routes[path] = feed
    yield server


def config_file(tmp_path: Path, *, base: str) -> Path:
    dead_smtp = f"mailto://127.0.0.1:{free_port()}?from=m@example.org&to=desk@example.org"
    feeds = [
        {"name": "Twenty", "url": f"{base}/twenty.xml", "interval": "20s"},
        {"name": "Thirty", "url": f"{base}/thirty.xml", "interval": "30s"},
    ]
    return write_config(
        tmp_path,
        storage=database_url(tmp_path),
        alerts=[dead_smtp],
        alert_options={"retry_base": "1h"},
        feeds=feeds,
    )


def monitor(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "300"},
        timeout=120,
        check=False,
    )


def test_steps_of_a_new_user(tmp_path: Path, site: FeedServer) -> None:
    config = config_file(tmp_path, base=site.base)
    opml_file(tmp_path, site.base)
    for step in STEPS:
        args = [a.format(base=site.base, tmp=tmp_path) for a in step.args]
        done = monitor(config, *args)
        shown = done.stdout + done.stderr
        assert done.returncode == step.code, (args, shown)
        assert [w for w in step.shows if w not in shown] == [], (args, shown)
        assert [w for w in (*step.hides, *HIDDEN_EVERYWHERE) if w in shown] == [], (args, shown)
    _one_line_per_failed_alert(config)
    _alerts_list_names_the_article(config)


def _one_line_per_failed_alert(config: Path) -> None:
    done = monitor(config, "poll", "--once", "--feed", "Twenty")
    assert done.returncode == 0 and "1 to retry" in done.stdout, done.stdout + done.stderr
    failing = [line for line in done.stderr.splitlines() if "127.0.0.1" in line]
    assert len(failing) == 1 and "not delivered" in failing[0], done.stderr
    assert "Connection refused" in failing[0], failing[0]


def _alerts_list_names_the_article(config: Path) -> None:
    listed = json.loads(monitor(config, "matches", "list", "--format", "json").stdout)
    article_id, title = listed[0]["id"], listed[0]["title"]
    alerts = monitor(config, "alerts", "list").stdout
    row = next(line for line in alerts.splitlines() if "mailto" in line)
    assert f"│ {article_id} " in row and title[:30] in row, alerts
    assert monitor(config, "matches", "show", str(article_id)).returncode == 0
