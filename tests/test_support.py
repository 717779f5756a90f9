"""The shared config writer renders TOML that reads back as the values it was given, and a
config ``monitor`` itself loads."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from monitor.settings import load_settings
from tests.support import MODEL_CACHE_ENV, SEEDS, write_config
from tests.support.config import ConfigValueError, toml_value

VALUES = {  # value → what tomllib reads back
    "plain string": ("3s", "3s"),
    "quotes and backslash": ('a "b" \\c', 'a "b" \\c'),
    "newline and tab": ("a\nb\tc", "a\nb\tc"),
    "non-ASCII": ("Пакистан 🇵🇰", "Пакистан 🇵🇰"),
    "path": (Path("/x y/z"), "/x y/z"),
    "true": (True, True),
    "false": (False, False),
    "int": (4, 4),
    "float": (0.25, 0.25),
    "list of strings": (["mailto://a", 'b"c'], ["mailto://a", 'b"c']),
    "empty list": ([], []),
    "inline table": ({"a-b": 1, "c d": "e"}, {"a-b": 1, "c d": "e"}),
}


@pytest.mark.parametrize("name", VALUES)
def test_a_value_reads_back_as_given(name: str) -> None:
    value, expected = VALUES[name]
    assert tomllib.loads(f"v = {toml_value(value)}")["v"] == expected


def test_a_value_without_toml_rendering_is_refused() -> None:
    with pytest.raises(ConfigValueError, match="no TOML rendering for object"):
        toml_value(object())


def test_the_whole_config_reads_back_and_loads(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        storage=f"sqlite:///{tmp_path / 'monitor.db'}",
        scheduler={"tick": "0.5s", "extract_processes": 0},
        feeds={"Local news": "http://127.0.0.1:1/a.xml", 'Quoted "B"': "http://127.0.0.1:1/b"},
        feed_interval="1h",
        alerts=["json://127.0.0.1:1/hook"],
        alert_options={"retry_base": "1s"},
        destinations=[{"name": "desk", "url": "json://127.0.0.1:2/hook"}],
    )
    assert path == tmp_path / "monitor.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    model = os.environ.get(MODEL_CACHE_ENV) or str(tmp_path / "model")
    assert data["classifier"] == {"seeds": str(SEEDS), "cache_dir": model}
    assert data["fetch"] == {"timeout": "3s", "allow_private_networks": True}
    assert [f["name"] for f in data["feeds"]] == ["Local news", 'Quoted "B"']
    assert {f["interval"] for f in data["feeds"]} == {"1h"}
    assert data["alerts"]["urls"] == ["json://127.0.0.1:1/hook"]
    assert data["alerts"]["destinations"] == [{"name": "desk", "url": "json://127.0.0.1:2/hook"}]
    settings = load_settings(path)
    assert [f.name for f in settings.feeds] == ["Local news", 'Quoted "B"']


def test_empty_tables_are_left_out_and_a_file_path_is_kept(tmp_path: Path) -> None:
    path = write_config(tmp_path / "other.toml", storage="sqlite:///x.db", fetch={})
    assert path == tmp_path / "other.toml"
    assert set(tomllib.loads(path.read_text(encoding="utf-8"))) == {"storage", "classifier"}
