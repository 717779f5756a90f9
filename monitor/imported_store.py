"""Judgements imported from labelled JSON lines (``monitor label --import``). Mixed into ``Store``.

They are kept apart from the judgements of stored articles: an imported line is not an article
the monitor fetched, it has no feed and no match. Importing the same line again (same ``id``, or
the same title and text) updates its label instead of adding a copy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlmodel import Session, col, select

from monitor.models import ImportedJudgement, utcnow


@dataclass(frozen=True, slots=True)
class LabelledLine:
    title: str
    text: str
    relevant: bool
    key: str | None = None  # the line's own `id`, when it has one


@dataclass(frozen=True, slots=True)
class ImportResult:
    added: int
    updated: int
    unchanged: int


@dataclass(frozen=True, slots=True)
class ImportedCount:
    source: str
    relevant: int
    irrelevant: int


def line_key(line: LabelledLine) -> str:
    if line.key:
        return f"id:{line.key}"
    digest = hashlib.sha256(f"{line.title}\0{line.text}".encode()).hexdigest()
    return f"sha256:{digest[:32]}"


class ImportedJudgementQueries:
    """SQL for imported judgements; ``Store`` inherits these methods."""

    if TYPE_CHECKING:

        def _read(self) -> AbstractContextManager[Session]: ...
        def _write(self) -> AbstractContextManager[Session]: ...

    def import_judgements(self, lines: Sequence[LabelledLine], *, source: str) -> ImportResult:
        added = updated = unchanged = 0
        with self._write() as s:
            for line in lines:
                key = line_key(line)
                row = s.exec(select(ImportedJudgement).where(ImportedJudgement.key == key)).first()
                if row is None:
                    row = ImportedJudgement(key=key, source=source, relevant=line.relevant)
                    added += 1
                elif (row.title, row.text, row.relevant) == (line.title, line.text, line.relevant):
                    unchanged += 1
                    continue
                else:
                    updated += 1
                row.title, row.text, row.relevant = line.title, line.text, line.relevant
                row.source, row.created_at = source, utcnow()
                s.add(row)
        return ImportResult(added=added, updated=updated, unchanged=unchanged)

    def imported_judgements(self) -> list[ImportedJudgement]:
        with self._read() as s:
            return list(s.exec(select(ImportedJudgement).order_by(col(ImportedJudgement.id))))

    def imported_counts(self) -> list[ImportedCount]:
        query = (
            select(ImportedJudgement.source, ImportedJudgement.relevant, func.count())
            .group_by(col(ImportedJudgement.source), col(ImportedJudgement.relevant))
            .order_by(col(ImportedJudgement.source))
        )
        counts: dict[str, dict[bool, int]] = {}
        with self._read() as s:
            for source, relevant, n in s.exec(query).all():
                counts.setdefault(source, {})[bool(relevant)] = int(n)
        return [
            ImportedCount(source=k, relevant=v.get(True, 0), irrelevant=v.get(False, 0))
            for k, v in counts.items()
        ]
