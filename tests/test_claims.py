"""Two pollers or senders on one PostgreSQL never take the same row: due alerts and due feeds are
claimed with ``FOR UPDATE SKIP LOCKED`` (and a lease on the feed row), so concurrent claimers
get disjoint sets that together cover every due row."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.models import Article, Entry, OutboxPolicy, Response, utcnow
from monitor.store import Store
from tests.conftest import TEST_DATABASE_URL, database_url

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL,
    reason="needs PostgreSQL: set MONITOR_TEST_DATABASE_URL (row locks are what is tested)",
)

CLAIMERS = 3
ROWS = 120


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[list[Store]]:
    url = database_url(tmp_path)
    made = [Store(url=url) for _ in range(CLAIMERS)]  # one per daemon: no shared Python lock
    made[0].prepare_schema()
    yield made
    for store in made:
        store.close()


def _make_feeds(store: Store) -> int:
    for i in range(ROWS):
        store.add_feed(name=f"feed-{i}", url=f"http://example.test/{i}.xml", interval_seconds=60)
    return ROWS


def _make_alerts(store: Store) -> int:
    feed = store.add_feed(name="f", url="http://example.test/f.xml", interval_seconds=60)
    policy = OutboxPolicy(destinations=("a", "b", "c"))
    for i in range(ROWS // 3):
        article = Article(
            feed_id=feed.id or 0,
            entry_key=f"k{i}",
            canonical_url=f"http://example.test/a/{i}",
            url=f"http://example.test/a/{i}",
            relevant=True,
            score=0.9,
        )
        store.save_article(article=article, outbox=policy)
    return ROWS // 3 * 3


def _claim_feeds(store: Store) -> list[int]:
    return [f.id or 0 for f in store.claim_due_feeds(now=utcnow(), limit=4)]


def _claim_alerts(store: Store) -> list[int]:
    return [a.id or 0 for a in store.claim_due_alerts(now=utcnow(), limit=4)]


CASES = [
    pytest.param(_make_feeds, _claim_feeds, id="due-feeds"),
    pytest.param(_make_alerts, _claim_alerts, id="due-alerts"),
]


@pytest.mark.parametrize(("make", "claim"), CASES)
def test_concurrent_claimers_take_disjoint_sets(
    stores: list[Store],
    make: Callable[[Store], int],
    claim: Callable[[Store], list[int]],
) -> None:
    total = make(stores[0])
    taken: list[list[int]] = [[] for _ in stores]
    start = threading.Barrier(len(stores))

    def claimer(i: int) -> None:
        start.wait()
        while batch := claim(stores[i]):
            taken[i].extend(batch)

    threads = [threading.Thread(target=claimer, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    every = [row for rows in taken for row in rows]
    assert len(every) == total, f"{len(every) - len(set(every))} rows claimed twice"
    assert len(set(every)) == total
    assert sum(bool(rows) for rows in taken) >= 2, "one claimer took everything: no contention"


def test_stale_entries_are_handed_back_in_their_transaction(stores: list[Store]) -> None:
    store = stores[0]
    feed = store.add_feed(name="f", url="http://example.test/f.xml", interval_seconds=60)
    entries = [
        Entry(key=f"k{i}", link=None, canonical_url=f"http://example.test/{i}") for i in range(3)
    ]
    response = Response(url=feed.url, status=200)
    old = utcnow() - timedelta(hours=2)
    recorded = store.record_entries(
        feed_id=feed.id or 0,
        entries=entries[:2],
        response=response,
        now=old,
        then=lambda c, i: None,
    )
    store.record_entries(
        feed_id=feed.id or 0,
        entries=entries[2:],
        response=response,
        now=utcnow(),
        then=lambda c, i: None,
    )
    handed: list[int] = []
    again = store.stale_entries(
        before=utcnow() - timedelta(hours=1), then=lambda _conn, ids: handed.extend(ids)
    )
    assert again == handed == recorded
