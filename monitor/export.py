"""Matches as files for reports: CSV, JSON, JSON Lines. Pure rendering, no database access."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any

from monitor.errors import ConfigError
from monitor.store import MatchRow
from monitor.store.matches import ReviewRow
from monitor.views import match_record, write_csv

FORMATS = ("csv", "json", "jsonl")
CSV_FIELDS = (
    "id",
    "match_id",
    "url",
    "title",
    "source",
    "published",
    "score",
    "matched_at",
    "judgement",
    "reasons",
)


def record(row: ReviewRow) -> dict[str, Any]:
    """One match as plain data: ``views.match_record`` plus the reviewer's judgement."""
    base = match_record(MatchRow(match=row.match, article=row.article, feed=row.feed))
    return {**base, "judgement": judgement_name(row)}


def judgement_name(row: ReviewRow) -> str | None:
    if row.judgement is None:
        return None
    return "relevant" if row.judgement.relevant else "irrelevant"


def export_matches(rows: Iterable[ReviewRow], *, fmt: str, out: IO[str]) -> None:
    """Write ``rows`` to ``out`` as ``csv``, ``json`` (one array) or ``jsonl`` (one per line)."""
    writer = _WRITERS.get(fmt)
    if writer is None:
        raise ConfigError(f"export: unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    writer([record(r) for r in rows], out)


def _write_csv(records: Sequence[dict[str, Any]], out: IO[str]) -> None:
    write_csv(records, fields=CSV_FIELDS, out=out)


def _write_json(records: Sequence[dict[str, Any]], out: IO[str]) -> None:
    out.write(json.dumps(records, indent=2, ensure_ascii=False) + "\n")


def _write_jsonl(records: Sequence[dict[str, Any]], out: IO[str]) -> None:
    for r in records:
        out.write(json.dumps(r, ensure_ascii=False) + "\n")


_WRITERS: dict[str, Callable[[Sequence[dict[str, Any]], IO[str]], None]] = {
    "csv": _write_csv,
    "json": _write_json,
    "jsonl": _write_jsonl,
}
