"""The configuration file from outside: a real ``monitor`` process started somewhere else."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import SEEDS, publish, seed_pages
from tests.daemonproc import run_monitor
from tests.httpserver import FeedServer


def relative_config(folder: Path, *, feed_url: str) -> Path:
    """A config whose seeds, model cache and SQLite file are all given relative to it."""
    folder.mkdir()
    shutil.copytree(SEEDS, folder / "seeds")
    path = folder / "monitor.toml"
    path.write_text(
        "\n".join(
            [
                "[storage]",
                'url = "sqlite:///data/monitor.db"',
                "[classifier]",
                'seeds = "seeds"',
                'cache_dir = "data/model"',
                "[fetch]",
                'timeout = "3s"',
                "allow_private_networks = true",
                "[scheduler]",
                "extract_processes = 0",
                "[[feeds]]",
                'name = "Local"',
                f'url = "{feed_url}"',
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    return path


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
