"""Exports of matches: every format round-trips the same records; spreadsheets stay inert."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from monitor import views
from monitor.errors import ConfigError
from monitor.export import CSV_FIELDS, FORMATS, export_matches, record
from monitor.models import Article, Feed, Judgement, Match
from monitor.store import MatchRow
from monitor.store.matches import ReviewRow

WHEN = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def row(
    article_id: int, *, title: str, judged: bool | None = None, reasons: str = "[]"
) -> ReviewRow:
    article = Article(
        id=article_id,
        feed_id=1,
        entry_key=str(article_id),
        canonical_url=f"https://news.example/{article_id}",
        url=f"https://news.example/{article_id}",
        title=title,
        text="Body",
        published=WHEN,
        score=0.8,
        relevant=True,
        reasons=reasons,
    )
    return ReviewRow(
        match=Match(id=article_id * 10, article_id=article_id, score=0.8, created_at=WHEN),
        article=article,
        feed=Feed(id=1, name="Dawn", url="https://news.example/rss"),
        judgement=None if judged is None else Judgement(article_id=article_id, relevant=judged),
    )


ROWS = [
    row(1, title="Gas deal, signed", judged=True, reasons='["pakistan + russia", "energy"]'),
    row(2, title='Quotes "and" commas, ünïcode', judged=False),
    row(3, title="Line\nbreak"),
]


def export(fmt: str) -> str:
    out = io.StringIO()
    export_matches(ROWS, fmt=fmt, out=out)
    return out.getvalue()


def parsed(fmt: str) -> list[dict[str, object]]:
    value = export(fmt)
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(value)))
    if fmt == "json":
        return list(json.loads(value))
    return [json.loads(line) for line in value.splitlines()]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_carries_every_match(fmt: str) -> None:
    items = parsed(fmt)
    assert [str(i["id"]) for i in items] == ["1", "2", "3"]
    assert [i["title"] for i in items] == [r.article.title for r in ROWS]
    assert [i["judgement"] or None for i in items] == ["relevant", "irrelevant", None]
    assert all(str(i["matched_at"]).startswith("2025-03-01T09:30") for i in items)


def test_json_records_are_the_api_records() -> None:
    assert parsed("json") == [record(r) for r in ROWS]
    assert parsed("jsonl") == parsed("json")


def test_csv_has_a_header_and_joins_reasons() -> None:
    items = parsed("csv")
    assert export("csv").splitlines()[0] == ",".join(CSV_FIELDS)
    assert items[0]["reasons"] == "pakistan + russia; energy"


FORMULAS = [
    ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("+1 and more", "'+1 and more"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("-2+3", "'-2+3"),
    ("-2 degrees", "'-2 degrees"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("Plain title", "Plain title"),
]


def export_csv(rows: list[ReviewRow], out: io.StringIO) -> None:
    export_matches(rows, fmt="csv", out=out)


def list_csv(rows: list[ReviewRow], out: io.StringIO) -> None:
    matches = [MatchRow(match=r.match, article=r.article, feed=r.feed) for r in rows]
    views.print_matches(matches, fmt=views.Format.csv, console=views.terminal(file=out))


CSV_COMMANDS = {"matches export": export_csv, "matches list": list_csv}


@pytest.mark.parametrize("command", CSV_COMMANDS)
@pytest.mark.parametrize(("title", "cell"), FORMULAS)
def test_csv_cells_that_spreadsheets_would_run_are_quoted(
    command: str, title: str, cell: str
) -> None:
    out = io.StringIO()
    CSV_COMMANDS[command]([row(9, title=title)], out)
    assert next(csv.DictReader(io.StringIO(out.getvalue(), newline="")))["title"] == cell


def test_empty_export_is_still_valid() -> None:
    for fmt, expected in (("csv", ",".join(CSV_FIELDS) + "\r\n"), ("json", "[]\n"), ("jsonl", "")):
        out = io.StringIO()
        export_matches([], fmt=fmt, out=out)
        assert out.getvalue() == expected


def test_unknown_format_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown format 'xml'"):
        export_matches(ROWS, fmt="xml", out=io.StringIO())
