"""The configuration file from outside: a real ``monitor`` process started somewhere else."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from monitor.errors import ConfigError
from monitor.store import FeedDef, Store
from tests.conftest import SEEDS, database_url, publish, seed_pages
from tests.daemonproc import DaemonProcess, run_monitor
from tests.httpserver import FeedServer
from tests.support import write_config


def relative_config(folder: Path, *, feed_url: str) -> Path:
    """A config whose seeds, model cache and SQLite file are all given relative to it."""
    folder.mkdir()
    shutil.copytree(SEEDS, folder / "seeds")
    return write_config(
        folder,
        storage="sqlite:///data/monitor.db",
        seeds="seeds",
        cache_dir="data/model",
        scheduler={"extract_processes": 0},
        feeds={"Local": feed_url},
    )


def test_relative_paths_resolve_against_the_config_folder(
    server: FeedServer, tmp_path: Path
) -> None:
    url = publish(server, feed_path="/news.xml", pages=seed_pages()[:1])
    config = relative_config(tmp_path / "etc", feed_url=url)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run_monitor("--config", str(config), "poll", "--once", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    assert "1 new articles, 1 matches" in done.stdout, done.stdout
    done = run_monitor("--config", str(config), "status", cwd=Path("/"))
    assert done.returncode == 0 and "1 articles · 1 matches" in done.stdout, done.stdout
    assert (config.parent / "data" / "monitor.db").is_file()
    assert list((config.parent / "data" / "model").glob("classifier-*.pkl"))
    assert not (elsewhere / "data").exists()


@pytest.mark.parametrize("named_by", ["--config", "MONITOR_CONFIG"])
def test_a_named_config_file_that_is_missing_is_exit_2(tmp_path: Path, named_by: str) -> None:
    missing = tmp_path / "nope.toml"
    args = ("--config", str(missing)) if named_by == "--config" else ()
    env = {"MONITOR_CONFIG": str(missing)} if named_by == "MONITOR_CONFIG" else {}
    done = run_monitor(*args, "status", cwd=tmp_path, env=env)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: config: file not found: {missing}"
    assert not (tmp_path / "data").exists()


NO_SEEDS = [  # (seeds folder state, command)
    ("missing", ["run"]),
    ("empty", ["run"]),
    ("missing", ["poll", "--once"]),
    ("empty", ["train"]),
    ("missing", ["score", "-"]),
]


@pytest.mark.parametrize(("state", "command"), NO_SEEDS)
def test_no_seed_article_is_exit_2_naming_the_folder(
    server: FeedServer, tmp_path: Path, state: str, command: list[str]
) -> None:
    url = publish(server, feed_path="/news.xml", pages=seed_pages()[:1])
    config = relative_config(tmp_path / "etc", feed_url=url)
    shutil.rmtree(config.parent / "seeds")
    if state == "empty":
        (config.parent / "seeds").mkdir()
    done = run_monitor("--config", str(config), *command, cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"seeds folder {config.parent / 'seeds'}" in done.stderr
    assert "Traceback" not in done.stderr and server.hits("/news.xml") == 0


U1, U2, U3 = (f"https://example.org/{n}.xml" for n in (1, 2, 3))
SYNC_CASES = [  # (first config, CLI feeds, second config, rows after: (name, url, origin, enabled))
    pytest.param({"A": U1}, {}, {"A": U2}, {("A", U2, "config", True)}, id="url-changed"),
    pytest.param({"A": U1}, {}, {"B": U1}, {("B", U1, "config", True)}, id="renamed"),
    pytest.param(
        {"A": U1, "B": U2},
        {},
        {"A": U2, "B": U1},
        {("B", U1, "config", True), ("A", U2, "config", True)},
        id="names-swapped",
    ),
    pytest.param(
        {"A": U1, "B": U2},
        {},
        {"A": U2},
        {("A (removed from config, id 1)", U1, "config", False), ("A", U2, "config", True)},
        id="name-moves-to-other-url",
    ),
    pytest.param(
        {"A": U1},
        {"C": U2},
        {"A": U2},
        {("A", U1, "config", False), ("C", U2, "cli", True)},
        id="url-of-a-cli-feed",
    ),
    pytest.param({"A": U1}, {}, {}, {("A", U1, "config", False)}, id="removed"),
    pytest.param(
        {},
        {},
        {"A": U1, "B": U3},
        {("A", U1, "config", True), ("B", U3, "config", True)},
        id="new",
    ),
]


@pytest.mark.parametrize(("first", "cli", "second", "rows"), SYNC_CASES)
def test_config_feeds_follow_the_config(
    tmp_path: Path,
    first: dict[str, str],
    cli: dict[str, str],
    second: dict[str, str],
    rows: set[tuple[str, str, str, bool]],
) -> None:
    store = Store(url=database_url(tmp_path))
    store.prepare_schema()
    try:
        store.sync_config_feeds(
            [FeedDef(name=n, url=u, interval_seconds=60) for n, u in first.items()]
        )
        for name, url in cli.items():
            store.add_feed(name=name, url=url, interval_seconds=60)
        for _ in range(2):  # and again: nothing changes the second time
            store.sync_config_feeds(
                [FeedDef(name=n, url=u, interval_seconds=60) for n, u in second.items()]
            )
            after = store.feeds(enabled_only=False)
            assert {(f.name, f.url, f.origin, f.enabled) for f in after} == rows
    finally:
        store.close()


def test_a_config_feed_named_like_a_cli_feed_is_exit_2(tmp_path: Path) -> None:
    store = Store(url=database_url(tmp_path))
    store.prepare_schema()
    try:
        store.add_feed(name="A", url=U1, interval_seconds=60)
        with pytest.raises(ConfigError, match="'A' is already the name of a feed added with"):
            store.sync_config_feeds([FeedDef(name="A", url=U2, interval_seconds=60)])
    finally:
        store.close()


def test_a_config_feed_whose_url_changed_keeps_its_articles(
    server: FeedServer, tmp_path: Path
) -> None:
    old = publish(server, feed_path="/old.xml", pages=seed_pages()[:1])
    new = publish(server, feed_path="/new.xml", pages=seed_pages()[1:2])
    config = relative_config(tmp_path / "etc", feed_url=old)
    assert run_monitor("--config", str(config), "poll", "--once", cwd=tmp_path).returncode == 0
    config.write_text(config.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    for command in (["status"], ["poll", "--once"], ["feeds", "list"]):
        done = run_monitor("--config", str(config), *command, cwd=tmp_path)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    status = run_monitor("--config", str(config), "status", cwd=tmp_path)
    assert "1 feeds · 2 articles · 2 matches" in status.stdout, status.stdout
    assert server.hits("/new.xml") == 1
    DaemonProcess(config).wait_started().stop()


UNKNOWN_KEYS = [  # (config text, environment, the line's words)
    ('[alerts]\nurl = ["json://x"]\n', {}, "alerts.url: unknown key (did you mean 'urls'?)"),
    ('[fetch]\ntimeuot = "3s"\n', {}, "fetch.timeuot: unknown key (did you mean 'timeout'?)"),
    ('[[feeds]]\nname = "a"\nurl = "http://x/"\nintervall = "1m"\n', {}, "feeds.0.intervall"),
    ('[[alerts.destinations]]\nname = "a"\nurl = "json://x"\ntag = 1\n', {}, "0.tag: unknown"),
    ("[classifier]\nseed = 'x'\n", {}, "classifier.seed: unknown key (did you mean 'seeds'?)"),
    ("", {"MONITOR_FETCH_TIMEUOT": "3s"}, "fetch.timeuot: unknown key"),
    ("[nonsense]\nkey = 1\n", {}, "nonsense: unknown key"),
]


@pytest.mark.parametrize(("text", "env", "words"), UNKNOWN_KEYS)
def test_an_unknown_key_is_exit_2_naming_it(
    tmp_path: Path, text: str, env: dict[str, str], words: str
) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text(text, encoding="utf-8")
    done = run_monitor("--config", str(config), "status", cwd=tmp_path, env=env)
    assert done.returncode == 2 and words in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "data").exists()


FEED_STEPS = [  # (command, exit code, words in its output, feeds listed after it)
    (["feeds", "remove", "Local"], 1, "delete its [[feeds]] entry there", {"Local"}),
    (["feeds", "add", U1, "--name", "Ex", "--no-check"], 0, "added feed 'Ex'", {"Local", "Ex"}),
    (
        ["feeds", "add", U1, "--name", "Ex2", "--no-check"],
        1,
        "feed 'Ex' (https://example.org/1.xml) is already",
        {"Local", "Ex"},
    ),
    (["feeds", "remove", "Ex"], 0, "removed feed 'Ex'", {"Local"}),
    (["feeds", "remove", "Ex"], 1, "no feed named 'Ex'", {"Local"}),
    (["feeds", "add", U1, "--name", "Ex", "--no-check"], 0, "added feed 'Ex'", {"Local", "Ex"}),
    (["feeds", "remove", "Ex"], 0, "removed feed 'Ex'", {"Local"}),
    (["feeds", "add", U2, "--name", "Ex", "--no-check"], 0, "added feed 'Ex'", {"Local", "Ex"}),
    (["feeds", "add", U3, "--name", "Local", "--no-check"], 1, "feed 'Local'", {"Local", "Ex"}),
]


def test_feeds_remove_and_add_again(tmp_path: Path) -> None:
    config = relative_config(tmp_path / "etc", feed_url="https://example.org/local.xml")
    runner = CliRunner()
    for args, code, words, listed in FEED_STEPS:
        done = runner.invoke(app, ["--config", str(config), *args])
        assert (done.exit_code, words in done.output) == (code, True), (args, done.output)
        shown = runner.invoke(app, ["--config", str(config), "feeds", "export-opml"]).output
        assert {n for n in ("Local", "Ex", "Ex2") if f'text="{n}"' in shown} == listed, args
    assert (
        str(config)
        in runner.invoke(app, ["--config", str(config), "feeds", "remove", "Local"]).output
    )
