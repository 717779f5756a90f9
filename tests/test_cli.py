"""The command line over a real local feed server and a temporary SQLite database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from tests.conftest import SEEDS, aeb_pages, database_url, publish, query, seed_pages
from tests.daemonproc import DaemonProcess, wait_for
from tests.httpserver import FeedServer
from tests.support import write_config

runner = CliRunner()


def cli_config(tmp_path: Path, *, feeds: dict[str, str], db: str = "monitor.db") -> Path:
    return write_config(
        tmp_path / f"{db}.toml",
        storage=database_url(tmp_path, db),
        scheduler={"tick": "0.5s"},
        feeds=feeds,
        feed_interval="1h",
    )


def invoke(config: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["--config", str(config), *args], input=stdin)
    return result.exit_code, result.output


@pytest.fixture
def polled(server: FeedServer, corpus: Path, tmp_path: Path) -> Path:
    url = publish(server, feed_path="/news.xml", pages=aeb_pages(corpus, limit=4) + seed_pages())
    config = cli_config(tmp_path, feeds={"Local news": url})
    code, output = invoke(config, "poll", "--once")
    assert code == 0, output
    assert "1/1 feeds polled, 9 new articles, 5 matches" in output
    return config


def test_matches_list_json_lists_the_matches(polled: Path) -> None:
    code, output = invoke(polled, "matches", "list", "--format", "json")
    items = json.loads(output)
    assert code == 0 and len(items) == 5
    assert set(items[0]) >= {"id", "url", "title", "source", "published", "score", "matched_at"}
    assert all(i["source"] == "Local news" and i["score"] >= 0.5 for i in items)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["matches", "list", "--format", "csv"], "id,url,title,source,published,score,matched_at"),
        (["matches", "list", "--min-score", "1.01"], "0 matches"),
        (["matches", "list", "--since", "2999-01-01", "--format", "json"], "[]"),
        (["status"], "9 articles · 5 matches"),
        (["feeds", "list"], "Local news"),
        (["feeds", "export-opml"], 'xmlUrl="http://127.0.0.1'),
    ],
)
def test_review_commands(polled: Path, args: list[str], expected: str) -> None:
    code, output = invoke(polled, *args)
    assert code == 0 and expected in output, output


def test_matches_show_and_label(polled: Path) -> None:
    first = json.loads(invoke(polled, "matches", "list", "--format", "json")[1])[0]
    code, output = invoke(polled, "matches", "show", str(first["id"]))
    assert code == 0 and first["title"] in output and "score" in output
    code, output = invoke(polled, "label", str(first["id"]), "irrelevant")
    assert code == 0
    assert "your judgement: irrelevant" in invoke(polled, "matches", "show", str(first["id"]))[1]
    assert invoke(polled, "label", "99999", "relevant")[0] == 1


def test_poll_once_exits_zero_when_a_feed_fails(server: FeedServer, tmp_path: Path) -> None:
    good = publish(server, feed_path="/good.xml", pages=seed_pages()[:1])
    config = cli_config(tmp_path, feeds={"good": good, "bad": server.url("/missing.xml")})
    code, output = invoke(config, "poll", "--once")
    assert code == 0
    assert "HTTP 404" in output and "1/2 feeds polled" in output


@pytest.mark.parametrize("once", [["--once"], []], ids=["--once", "bare"])
def test_poll_once_single_feed(server: FeedServer, tmp_path: Path, once: list[str]) -> None:
    """`poll` always polls once; `--once` is still accepted (README, scripts), changes nothing."""
    a = publish(server, feed_path="/a.xml", pages=seed_pages()[:1])
    b = publish(server, feed_path="/b.xml", pages=seed_pages()[1:2])
    config = cli_config(tmp_path, feeds={"A": a, "B": b})
    code, output = invoke(config, "poll", *once, "--feed", "B")
    assert code == 0 and "1/1 feeds polled" in output
    assert server.hits("/a.xml") == 0
    assert invoke(config, "poll", *once, "--feed", "nope")[0] == 2


CONFIG_ERRORS = [
    ('[fetch]\ntimeout = "soon"\n', "fetch.timeout: invalid duration"),
    ("[classifier]\nthreshold = 2\n", "classifier.threshold"),
    ('[[feeds]]\nname = "x"\nurl = "ftp://x"\n', "feeds.0.url"),
    ("[storage\n", "not valid TOML"),
    ("[nonsense]\nkey = 1\n", "nonsense"),
]


@pytest.mark.parametrize(("text", "words"), CONFIG_ERRORS)
def test_invalid_config_names_the_key_and_exits_2(tmp_path: Path, text: str, words: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text, encoding="utf-8")
    code, output = invoke(config, "status")
    assert code == 2 and words in output and "Traceback" not in output


def test_config_show_masks_secrets_and_applies_environment(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[storage]\nurl = "postgresql+psycopg://me:hunter2@db/monitor"\n', encoding="utf-8"
    )
    result = runner.invoke(
        app,
        ["--config", str(config), "config", "show"],
        env={"MONITOR_FETCH_TIMEOUT": "7s", "MONITOR_ALLOW_PRIVATE_NETWORKS": "1"},
    )
    shown = json.loads(result.output)
    assert "hunter2" not in result.output and shown["storage"]["url"].endswith("me:***@db/monitor")
    assert shown["fetch"]["timeout"] == 7.0 and shown["fetch"]["allow_private_networks"] is True


def test_feeds_add_remove_and_opml_round_trip(tmp_path: Path) -> None:
    config = cli_config(tmp_path, feeds={})
    assert (
        invoke(
            config,
            *("feeds", "add", "https://example.org/rss", "--name", "Ex", "--interval", "30m"),
            "--no-check",
        )[0]
        == 0
    )
    assert invoke(config, "feeds", "add", "ftp://bad")[0] == 2
    opml = invoke(config, "feeds", "export-opml")[1]
    other = cli_config(tmp_path, feeds={}, db="other.db")
    (tmp_path / "feeds.opml").write_text(opml, encoding="utf-8")
    code, output = invoke(other, "feeds", "import-opml", str(tmp_path / "feeds.opml"))
    assert code == 0 and "imported 1 feeds" in output
    assert "Ex" in invoke(other, "feeds", "list")[1]
    assert invoke(other, "feeds", "remove", "Ex")[0] == 0
    assert "Ex" not in invoke(other, "feeds", "list")[1]


def test_score_one_text_and_jsonl_in_order(tmp_path: Path) -> None:
    config = cli_config(tmp_path, feeds={})
    seed = next(SEEDS.glob("*.txt")).read_text(encoding="utf-8")
    code, output = invoke(config, "score", "-", stdin=seed)
    single = json.loads(output)
    assert code == 0 and set(single) == {"score", "relevant", "reasons"} and single["relevant"]
    rows = [
        {"id": i, "text": t, "extra": "kept"} for i, t in enumerate(["", seed, "Cricket scores"])
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    code, output = invoke(config, "score", "--jsonl", str(source))
    out = [json.loads(line) for line in output.splitlines()]
    assert [o["id"] for o in out] == [0, 1, 2] and all(o["extra"] == "kept" for o in out)
    assert [o["relevant"] for o in out] == [False, True, False]
    assert out[1]["score"] == single["score"]


# --- the daemon, as a real process ------------------------------------------------------------


def _rows(url: str) -> set[tuple[Any, ...]]:
    return set(
        query(
            url,
            "SELECT a.url, a.title, round(CAST(a.score AS NUMERIC), 6), m.id IS NOT NULL "
            "FROM article a LEFT JOIN match m ON m.article_id = a.id",
        )
    )


def test_daemon_and_poll_once_produce_the_same_rows(
    server: FeedServer, corpus: Path, tmp_path: Path
) -> None:
    url = publish(server, feed_path="/news.xml", pages=aeb_pages(corpus, limit=4) + seed_pages())
    once = cli_config(tmp_path, feeds={"Local news": url}, db="once.db")
    assert invoke(once, "poll", "--once")[0] == 0
    daemon_config = cli_config(tmp_path, feeds={"Local news": url}, db="daemon.db")

    daemon = DaemonProcess(daemon_config).wait_started()
    try:
        wait_for(lambda: "poll: Local news ok" in daemon.log)
    finally:
        log = daemon.stop()

    assert "poll: Local news ok status=200 new=9 matches=5" in log
    assert "scheduler: stopped" in log
    assert _rows(database_url(tmp_path, "daemon.db")) == _rows(database_url(tmp_path, "once.db"))


IMPOSSIBLE_ID = "9" * 23  # beyond a 64-bit id: the driver would raise, not find nothing
TOO_LARGE_IDS = [
    (["matches", "show", IMPOSSIBLE_ID], 1, f"no article with id {IMPOSSIBLE_ID}"),
    (["label", IMPOSSIBLE_ID, "relevant"], 1, f"no article with id {IMPOSSIBLE_ID}"),
    (["alerts", "retry", IMPOSSIBLE_ID], 0, "queued 0 alert(s) again"),
]


@pytest.mark.parametrize(("args", "exit_code", "says"), TOO_LARGE_IDS)
def test_ids_too_large_for_the_database_find_nothing(
    tmp_path: Path, args: list[str], exit_code: int, says: str
) -> None:
    code, output = invoke(cli_config(tmp_path, feeds={}), *args)
    assert (code, says in output) == (exit_code, True), output
