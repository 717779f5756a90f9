"""Queries for reviewing stored matches (web page, exports, search). Mixed into ``Store``.

Full-text search uses the database's own index over article title and text:

* SQLite: an external-content FTS5 table ``article_fts`` kept in step with ``article`` by
  triggers, filled once from existing rows when it is first created;
* PostgreSQL: a GIN index on ``to_tsvector('simple', title || ' ' || text)``.

The full-text index itself is created by migration 0002 (``monitor/migrations``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import (
    ColumnElement,
    Engine,
    bindparam,
    column,
    func,
    literal_column,
    or_,
    table,
    text,
)
from sqlmodel import Session, col, select

from monitor.models import Article, Feed, Judgement, Match

DEFAULT_LIMIT = 50
FTS_TABLE = "article_fts"
PG_FTS_CONFIG = "simple"  # language-neutral: sources write in English, Urdu, Russian, …
# the expression migration 0002 indexes with GIN on PostgreSQL; queries must use it verbatim
PG_FTS_DOCUMENT = (
    f"to_tsvector('{PG_FTS_CONFIG}', coalesce(title, '') || ' ' || coalesce(text, ''))"
)
SNIPPET_WORDS = 30
MARK_START, MARK_END = (
    "\x02",
    "\x03",
)  # around matched words in a snippet; escaped text never has them
_WORD = re.compile(r"\w", re.UNICODE)
_NOT_WORD = re.compile(r"\W+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class MatchFilter:
    """What the matches page, the API and exports ask for. ``None`` means "any"."""

    since: datetime | None = None  # matched at or after
    until: datetime | None = None  # matched before
    min_score: float | None = None
    source: str | None = None  # feed name
    judgement: str | None = None  # "relevant", "irrelevant" or "unjudged"
    hide_irrelevant: bool = False  # leave out matches judged "not relevant"
    search: str | None = None  # words looked up in title and text
    per_story: bool = False  # only each story's best copy (highest score, then first matched)
    limit: int | None = DEFAULT_LIMIT
    offset: int = 0


@dataclass(frozen=True, slots=True)
class ReviewRow:
    match: Match
    article: Article
    feed: Feed
    judgement: Judgement | None


@dataclass(frozen=True, slots=True)
class MatchRow:
    match: Match
    article: Article
    feed: Feed


class MatchQueries:
    """Review-side SQL; ``Store`` inherits these methods."""

    if TYPE_CHECKING:
        engine: Engine
        is_sqlite: bool

        def _read(self) -> AbstractContextManager[Session]: ...
        def _write(self) -> AbstractContextManager[Session]: ...

    # -- matches --------------------------------------------------------------------------

    def matches(
        self,
        *,
        since: datetime | None = None,
        min_score: float | None = None,
        limit: int = 50,
        copies: bool = True,
    ) -> list[MatchRow]:
        """Matches, newest first; with ``copies=False`` only each story's first match."""
        query = (
            select(Match, Article, Feed)
            .join(Article, col(Article.id) == Match.article_id)
            .join(Feed, col(Feed.id) == Article.feed_id)
            .order_by(col(Match.created_at).desc(), col(Match.id).desc())
            .limit(limit)
        )
        if not copies:
            first = (
                select(func.min(Match.id))
                .join(Article, col(Article.id) == Match.article_id)
                .group_by(col(Article.story_id))
            )
            query = query.where(or_(col(Article.story_id).is_(None), col(Match.id).in_(first)))
        if since is not None:
            query = query.where(col(Match.created_at) >= since)
        if min_score is not None:
            query = query.where(col(Match.score) >= min_score)
        with self._read() as s:
            return [MatchRow(match=m, article=a, feed=f) for m, a, f in s.exec(query).all()]

    def review_matches(self, *, where: MatchFilter = MatchFilter()) -> list[ReviewRow]:
        """Matches with their article, feed and judgement, newest first."""
        query = (
            select(Match, Article, Feed, Judgement)
            .join(Article, col(Article.id) == Match.article_id)
            .join(Feed, col(Feed.id) == Article.feed_id)
            .outerjoin(Judgement, col(Judgement.article_id) == Article.id)
            .where(*self._filtered(where))
            .order_by(col(Match.created_at).desc(), col(Match.id).desc())
        )
        if where.limit is not None:
            query = query.limit(where.limit)
        with self._read() as s:
            rows = s.exec(query.offset(where.offset)).all()
        return [ReviewRow(match=m, article=a, feed=f, judgement=j) for m, a, f, j in rows]

    def count_matches(self, *, where: MatchFilter = MatchFilter()) -> int:
        """Rows ``where`` keeps: matches, or with ``per_story`` stories (one best copy each)."""
        query = (
            select(func.count())
            .select_from(Match)
            .join(Article, col(Article.id) == Match.article_id)
            .join(Feed, col(Feed.id) == Article.feed_id)
            .outerjoin(Judgement, col(Judgement.article_id) == Article.id)
            .where(*self._filtered(where))
        )
        with self._read() as s:
            return int(s.exec(query).one())

    def matches_since(self, *, since: datetime | None) -> list[ReviewRow]:
        """Every match since ``since`` (all when ``None``), newest first: for exports."""
        return self.review_matches(where=MatchFilter(since=since, limit=None))

    def _conditions(self, where: MatchFilter) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if where.since is not None:
            conditions.append(col(Match.created_at) >= where.since)
        if where.until is not None:
            conditions.append(col(Match.created_at) < where.until)
        if where.min_score is not None:
            conditions.append(col(Match.score) >= where.min_score)
        if where.source:
            conditions.append(col(Feed.name) == where.source)
        conditions += _judgement_condition(where.judgement)
        if where.hide_irrelevant:
            conditions.append(or_(col(Judgement.id).is_(None), col(Judgement.relevant).is_(True)))
        if where.search and (phrase := self._search_condition(where.search)) is not None:
            conditions.append(phrase)
        return conditions

    def _filtered(self, where: MatchFilter) -> list[ColumnElement[bool]]:
        """The filter's conditions; with ``per_story`` they are applied once, inside the ranking
        (repeating the full-text condition outside made SQLite re-run it for every row)."""
        return self._best_copy(where) if where.per_story else self._conditions(where)

    def _best_copy(self, where: MatchFilter) -> list[ColumnElement[bool]]:
        """With ``per_story``: the match must be its story's best among those the filter keeps.

        ``hide_irrelevant`` then hides the stories whose best copy was judged "not relevant"
        (rather than bringing up the next copy of a story just judged)."""
        if not where.per_story:
            return []
        rank = func.row_number().over(
            partition_by=_story_key(), order_by=(col(Match.score).desc(), col(Match.id))
        )
        ranked = (
            select(
                col(Match.id).label("match_id"),
                rank.label("rank"),
                col(Judgement.relevant).label("relevant"),
            )
            .join(Article, col(Article.id) == Match.article_id)
            .join(Feed, col(Feed.id) == Article.feed_id)
            .outerjoin(Judgement, col(Judgement.article_id) == Article.id)
            .where(*self._conditions(replace(where, hide_irrelevant=False)))
            .subquery()
        )
        best = select(ranked.c.match_id).where(ranked.c.rank == 1)
        if where.hide_irrelevant:
            best = best.where(or_(ranked.c.relevant.is_(None), ranked.c.relevant.is_(True)))
        return [col(Match.id).in_(best)]

    def _search_condition(self, words: str) -> ColumnElement[bool] | None:
        if not self.is_sqlite:
            terms = tsquery_text(words)
            if terms is None:
                return None
            document: ColumnElement[str] = literal_column(PG_FTS_DOCUMENT)
            condition: ColumnElement[bool] = document.op("@@")(
                func.to_tsquery(PG_FTS_CONFIG, terms)
            )
            return condition
        expression = fts5_query(words)
        if expression is None:
            return None
        fts = table(FTS_TABLE, column("rowid"), column(FTS_TABLE))
        hits = select(fts.c.rowid).where(fts.c[FTS_TABLE].op("MATCH")(expression))
        return col(Article.id).in_(hits)

    def snippets(self, article_ids: Sequence[int], *, words: str) -> dict[int, str]:
        """The passage of each article's text around ``words``, the words between ``MARK_START``
        and ``MARK_END`` (the database's own FTS snippet); articles without a hit are left out."""
        if not article_ids:
            return {}
        if self.is_sqlite:
            expression = fts5_query(words)
            if expression is None:
                return {}
            sql = text(
                f"SELECT rowid, snippet({FTS_TABLE}, 1, :start, :end, '…', {SNIPPET_WORDS}) "
                f"FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :q AND rowid IN :ids"
            ).bindparams(bindparam("ids", expanding=True))
            params: dict[str, object] = {"q": expression, "start": MARK_START, "end": MARK_END}
        else:
            terms = tsquery_text(words)
            if terms is None:
                return {}
            options = (
                f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords={SNIPPET_WORDS}, MinWords=12"
            )
            sql = text(
                f"SELECT id, ts_headline('{PG_FTS_CONFIG}', coalesce(text, ''), "
                f"to_tsquery('{PG_FTS_CONFIG}', :q), :options) FROM article WHERE id IN :ids"
            ).bindparams(bindparam("ids", expanding=True))
            params = {"q": terms, "options": options}
        params["ids"] = list(article_ids)
        with self._read() as s:
            rows = s.connection().execute(sql, params).all()
        return {int(i): str(snip) for i, snip in rows if snip and MARK_START in str(snip)}

    # -- page furniture -------------------------------------------------------------------

    def sources(self) -> list[str]:
        """Names of feeds that have at least one match."""
        query = (
            select(Feed.name)
            .join(Article, col(Article.feed_id) == Feed.id)
            .join(Match, col(Match.article_id) == Article.id)
            .distinct()
            .order_by(col(Feed.name))
        )
        with self._read() as s:
            return list(s.exec(query).all())

    def matches_per_day(
        self, *, days: int, today: date, where: MatchFilter = MatchFilter()
    ) -> list[tuple[date, int]]:
        """(day, matches ``where`` keeps, every copy) for the ``days`` days up to ``today``, zero
        days included."""
        first = today - timedelta(days=days - 1)
        day = func.date(Match.created_at)
        query = (
            select(day, func.count(col(Match.id)))
            .join(Article, col(Article.id) == Match.article_id)
            .join(Feed, col(Feed.id) == Article.feed_id)
            .outerjoin(Judgement, col(Judgement.article_id) == Article.id)
            .where(col(Match.created_at) >= datetime.combine(first, time(), tzinfo=UTC))
            .where(
                col(Match.created_at)
                < datetime.combine(today + timedelta(days=1), time(), tzinfo=UTC)
            )
            .where(*self._conditions(where))
            .group_by(day)
        )
        with self._read() as s:
            counts = {str(d): int(n) for d, n in s.exec(query).all()}
        span = (first + timedelta(days=i) for i in range(days))
        return [(d, counts.get(d.isoformat(), 0)) for d in span]

    # -- health and metrics ---------------------------------------------------------------

    def ping(self) -> None:
        """Raise ``StoreError`` when the database does not answer."""
        with self._read() as s:
            s.connection().exec_driver_sql("SELECT 1")

    def judgement_counts(self) -> dict[bool, int]:
        query = select(Judgement.relevant, func.count(col(Judgement.id))).group_by(
            col(Judgement.relevant)
        )
        with self._read() as s:
            return {bool(r): int(n) for r, n in s.exec(query).all()}


def _story_key() -> ColumnElement[int]:
    """An article's story, or the article itself when it has none (negative: never a story id)."""
    return func.coalesce(col(Article.story_id), -col(Article.id))


def _judgement_condition(judgement: str | None) -> list[ColumnElement[bool]]:
    if judgement == "relevant":
        return [col(Judgement.relevant).is_(True)]
    if judgement == "irrelevant":
        return [col(Judgement.relevant).is_(False)]
    if judgement == "unjudged":
        return [col(Judgement.id).is_(None)]
    return []


def fts5_query(words: str) -> str | None:
    """User words as an FTS5 query: every word must occur; ``word*`` matches a prefix.

    Each word is quoted, so FTS5 operators and punctuation in the input are plain text.
    Returns ``None`` when nothing searchable is left.
    """
    terms = []
    for word in words.split():
        prefix = word.endswith("*")
        word = word.rstrip("*")
        if _WORD.search(word):
            quoted = '"' + word.replace('"', '""') + '"'
            terms.append(quoted + ("*" if prefix else ""))
    return " ".join(terms) or None


def tsquery_text(words: str) -> str | None:
    """User words as a PostgreSQL ``to_tsquery`` text with the same meaning as ``fts5_query``.

    Only word characters reach the query, each as a quoted lexeme, so nothing the user types is
    tsquery syntax. (The ``simple`` configuration does not fold diacritics; FTS5 does.)
    """
    lexemes = []
    for word in words.split():
        suffix = ":*" if word.endswith("*") else ""
        parts = [p.lower() for p in _NOT_WORD.split(word) if p]
        lexemes += [f"'{p}'" for p in parts[:-1]] + [f"'{p}'{suffix}" for p in parts[-1:]]
    return " & ".join(lexemes) or None
