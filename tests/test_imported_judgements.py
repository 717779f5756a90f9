"""`monitor label --import FILE.jsonl`: judgements of their own, listed by train, used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.app import judgement_examples
from monitor.store import Store
from tests.conftest import database_url
from tests.test_cli import cli_config, invoke

LINES = [
    {"id": "a1", "title": "Pakistan and Russia sign barter deal", "text": "Both.", "label": 1},
    {"id": "a2", "title": "Rain in Lahore", "text": "Streets flooded.", "label": 0},
    {"title": "India, Russia hold talks", "text": "Oil and arms.", "label": 0},
]
BAD_FILES = [
    ('{"title": "x", "text": "y", "label": 2}\n', ":1: `label` must be 0 or 1"),
    ('{"title": "x", "text": "y"}\n', ":1: `label` must be 0 or 1"),
    ('{"title": "", "text": " ", "label": 1}\n', ":1: no `title` and no `text`"),
    ('{"title": "x", "text": "y", "label": 1}\nnot json\n', ":2: not valid JSON"),
]


def write_lines(path: Path, lines: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


def test_import_stores_lists_and_feeds_the_model(tmp_path: Path) -> None:
    config = cli_config(tmp_path, feeds={})
    labelled = write_lines(tmp_path / "labelled.jsonl", LINES)
    code, output = invoke(config, "label", "--import", str(labelled))
    assert code == 0 and "3 new judgements, 0 updated, 0 unchanged" in output, output
    changed = write_lines(tmp_path / "labelled.jsonl", [{**LINES[1], "label": 1}, *LINES[::2]])
    code, output = invoke(config, "label", "--import", str(changed))
    assert code == 0 and "0 new judgements, 1 updated, 2 unchanged" in output, output
    code, output = invoke(config, "train")
    assert code == 0 and "labelled.jsonl: 2 relevant, 1 not relevant" in output, output
    assert "2 judgements" in output  # the report's positives line counts them
    store = Store(url=database_url(tmp_path, "monitor.db"))
    try:
        sources = [e.source for e in judgement_examples(store)]
    finally:
        store.close()
    assert sources[:2] == ["imported:id:a1", "imported:id:a2"] and len(sources) == 3


@pytest.mark.parametrize(("content", "message"), BAD_FILES)
def test_bad_import_file_exits_2_naming_the_line(
    tmp_path: Path, content: str, message: str
) -> None:
    config = cli_config(tmp_path, feeds={})
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "label", "--import", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_label_without_arguments_exits_2(tmp_path: Path) -> None:
    code, output = invoke(cli_config(tmp_path, feeds={}), "label")
    assert code == 2 and "--import" in output
