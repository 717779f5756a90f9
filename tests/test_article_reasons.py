"""``Article.reason_list()``: the classifier's reasons, stored as a JSON list, read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.models import Article, Feed
from monitor.store import Store

CASES = [
    ("list of words", '["gas deal", "Moscow"]', ["gas deal", "Moscow"]),
    ("empty list", "[]", []),
    ("empty text", "", []),
    ("not JSON", "gas deal, Moscow", []),
    ("JSON but not a list", '{"gas": 1}', []),
    ("non-string items", '[1, "x", null]', ["1", "x", "None"]),
]


@pytest.mark.parametrize(("stored", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_reason_list(stored: str, expected: list[str]) -> None:
    article = Article(feed_id=1, entry_key="k", canonical_url="u", url="u", reasons=stored)
    assert article.reason_list() == expected


def test_reason_list_after_a_round_trip_through_the_store(tmp_path: Path) -> None:
    store = Store(url=f"sqlite:///{tmp_path / 'reasons.db'}")
    store.prepare_schema()
    feed = store.add_feed(name="f", url="http://f.example/rss", interval_seconds=60)
    article = Article(
        feed_id=feed.id or 0,
        entry_key="1",
        canonical_url="http://f.example/1",
        url="http://f.example/1",
        relevant=True,
        score=0.9,
        reasons='["pakistan russia", "pipeline"]',
    )
    store.save_article(article=article)
    found = store.article(article.id or 0)
    assert found is not None and isinstance(found[1], Feed)
    assert found[0].reason_list() == ["pakistan russia", "pipeline"]
    store.close()
