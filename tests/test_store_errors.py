"""Typed store errors: each command says what went wrong (not found, already there, read-only)
with its own hint, and the commands that only read work on a read-only SQLite file."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from monitor.app import App, build_app
from monitor.cli import app
from monitor.settings import load_settings
from monitor.web import create_app
from tests.conftest import publish, seed_pages
from tests.httpserver import FeedServer
from tests.support import write_config

runner = CliRunner()
STORAGE_HINT = "check storage.url"


def store_config(tmp_path: Path, *, feed_url: str) -> Path:
    return write_config(
        tmp_path,
        storage="sqlite:///monitor.db",  # always SQLite: the file is made read-only
        scheduler={"extract_processes": 0},
        feeds={"Local": feed_url},
    )


def invoke(config: Path, *args: str) -> tuple[int, str]:
    done = runner.invoke(app, ["--config", str(config), *args])
    return done.exit_code, done.output


@pytest.fixture
def polled(server: FeedServer, tmp_path: Path) -> Path:
    url = publish(server, feed_path="/news.xml", pages=seed_pages()[:2])
    config = store_config(tmp_path, feed_url=url)
    code, output = invoke(config, "poll", "--once")
    assert code == 0 and "2 matches" in output, output
    return config


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """The file cannot be written, even by root (immutable), else by its mode."""
    root = os.geteuid() == 0
    if root and subprocess.run(["chattr", "+i", str(path)], check=False).returncode != 0:
        pytest.skip("cannot make a file read-only for root here (chattr +i)")
    if not root:
        path.chmod(0o444)
    try:
        yield
    finally:
        if root:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        else:
            path.chmod(0o644)


def first_article(config: Path) -> int:
    return int(json.loads(invoke(config, "matches", "list", "--format", "json")[1])[0]["id"])


READS = [["status"], ["feeds", "list"], ["matches", "list"], ["alerts", "list"]]
READS += [["matches", "export", "--format", "json"], ["feeds", "export-opml"], ["config", "show"]]
WRITES = [  # (command, its words: the right error, and the right hint)
    (["label", "{id}", "relevant"], "the database is read-only"),
    (["feeds", "add", "https://example.org/rss.xml", "--no-check"], "the database is read-only"),
]


def test_commands_that_read_work_on_a_read_only_database(polled: Path) -> None:
    article = first_article(polled)
    with read_only(polled.parent / "monitor.db"):
        for args in [*READS, ["matches", "show", str(article)]]:
            code, output = invoke(polled, *args)
            assert code == 0 and "read-only" not in output, (args, output)
        for args, words in WRITES:
            code, output = invoke(polled, *[a.format(id=article) for a in args])
            assert code == 1 and words in output and "commands that only read work" in output
            assert STORAGE_HINT not in output and "Traceback" not in output, output


MISTAKES = [  # (command, the error, its hint)
    (["label", "9999", "relevant"], "no article with id 9999", "`monitor matches list` shows"),
    (["feeds", "add", "{feed}", "--name", "Twice"], "is already watched", "pick another name"),
    (
        ["feeds", "add", "https://example.org/x.xml", "--name", "Local", "--no-check"],
        "'Local'",
        "feeds list",
    ),
]


@pytest.mark.parametrize(("args", "error", "hint"), MISTAKES)
def test_a_store_mistake_says_what_it_is(
    polled: Path, args: list[str], error: str, hint: str
) -> None:
    feed = load_settings(polled).feeds[0].url
    code, output = invoke(polled, *[a.format(feed=feed) for a in args])
    assert code == 1 and error in output and hint in output, output
    assert STORAGE_HINT not in output


def test_the_web_answers_404_for_a_missing_article_and_503_when_read_only(polled: Path) -> None:
    article = first_article(polled)
    with read_only(polled.parent / "monitor.db"):
        application = build_app(load_settings(polled))
        try:
            statuses = [
                asyncio.run(post_judgement(application, page=article, target=target))
                for target in (99999, article)
            ]
        finally:
            application.close()
    assert [code for code, _ in statuses] == [404, 503]
    assert "no article with id 99999" in statuses[0][1]
    assert "commands that only read work" in statuses[1][1]


async def post_judgement(application: App, *, page: int, target: int) -> tuple[int, str]:
    transport = httpx.ASGITransport(app=create_app(app=application, token=None))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        html = (await client.get(f"/articles/{page}")).text
        csrf = html.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        response = await client.post(
            f"/articles/{target}/judgement", data={"csrf": csrf, "verdict": "relevant"}
        )
    return response.status_code, response.text
