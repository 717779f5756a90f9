"""Wiring: settings in, the objects the pipeline and commands need out. No business rules."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from monitor import notify
from monitor.errors import ConfigError, ReadOnly
from monitor.extract import ExtractorPool
from monitor.lazy import lazy_module
from monitor.models import OutboxPolicy, utcnow
from monitor.outbox import Outbox, next_digest_at
from monitor.review_links import TOKEN_ENV, ReviewLinks, link_key
from monitor.settings import FetchSettings, Settings
from monitor.store import FeedDef, Store

if TYPE_CHECKING:
    import httpx

    from monitor import classify
    from monitor.fetch import Fetcher, Resolver
    from monitor.pipeline import Stages
else:  # commands that neither poll nor score (status, feeds, matches) never import these
    classify = lazy_module("monitor.classify")

MODEL_CHECK_SECONDS = 10.0

log = logging.getLogger(__name__)


class ModelHolder:
    """The current classifier; rebuilt (or loaded from cache) when seeds or judgements change."""

    def __init__(self, *, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self._lock = threading.Lock()
        self._signature: tuple[object, ...] | None = None
        self._model: classify.Classifier | None = None
        self._checked_at = 0.0

    def __call__(self) -> classify.Classifier:
        with self._lock:
            if self._model is None or time.monotonic() - self._checked_at > MODEL_CHECK_SECONDS:
                self._refresh()
            assert self._model is not None
            return self._model

    def _refresh(self) -> None:
        self._checked_at = time.monotonic()
        examples = judgement_examples(self.store)
        signature = (_seeds_signature(self.settings.classifier.seeds), tuple(examples))
        if signature == self._signature:
            return
        if self._model is not None:
            log.info("classify: seeds or judgements changed, loading the new model")
        try:
            with seeds_required():
                self._model = classify.load_classifier(
                    seeds_dir=self.settings.classifier.seeds,
                    judgements=examples,
                    threshold=self.settings.classifier.threshold,
                    cache_dir=self.settings.classifier.cache_dir,
                )
        except ConfigError as exc:
            if self._model is None:
                raise
            log.error("%s; keeping the model already loaded", exc)
        self._signature = signature


@contextmanager
def seeds_required() -> Iterator[None]:
    """A classifier with no positive example is a configuration error naming the folder."""
    try:
        yield
    except classify.NoPositiveExamplesError as exc:
        raise ConfigError(f"{exc} (set classifier.seeds)") from exc


def judgement_examples(store: Store) -> list[classify.Example]:
    """Judgements of stored articles, then judgements imported from labelled files."""
    judged = [
        classify.Example(title=a.title, text=a.text, label=j.relevant, source=f"judgement:{a.id}")
        for j, a in store.judged_articles()
    ]
    imported = [
        classify.Example(title=i.title, text=i.text, label=i.relevant, source=f"imported:{i.key}")
        for i in store.imported_judgements()
    ]
    return judged + imported


def _seeds_signature(seeds: Path) -> tuple[tuple[str, float, int], ...]:
    if not seeds.is_dir():
        return ()
    return tuple(
        (p.name, p.stat().st_mtime, p.stat().st_size)
        for p in sorted(seeds.iterdir())
        if p.is_file()
    )


@dataclass
class App:
    settings: Settings
    store: Store
    model: ModelHolder
    outbox: Outbox
    extractor: ExtractorPool

    @cached_property
    def fetcher(self) -> Fetcher:
        """Built on first use: httpx is imported only by commands that fetch."""
        return build_fetcher(self.settings.fetch)

    @cached_property
    def stages(self) -> Stages:
        """Built once; only polling commands build it, so one extraction worker warms up now."""
        from monitor.pipeline import Stages

        self.extractor.start(workers=1)
        return Stages(
            store=self.store,
            fetcher=self.fetcher,
            classifier=self.model,
            outbox=self.outbox_policy,
            extractor=self.extractor,
            entry_workers=self.settings.scheduler.entry_workers,
            story_window=self.settings.stories.window,
            story_threshold=self.settings.stories.threshold,
            warm_up=self.extractor.start,
        )

    def outbox_policy(self) -> OutboxPolicy:
        """Where a match created now is queued, and when it is due (digest: next schedule)."""
        alerts = self.settings.alerts
        due = (
            next_digest_at(schedule=alerts.digest_schedule, now=utcnow())
            if alerts.mode == "digest"
            else None
        )
        return OutboxPolicy(
            destinations=self.outbox.keys, min_score=alerts.min_score, mode=alerts.mode, due_at=due
        )

    def maintain(self) -> None:
        """Periodic housekeeping: forget story-index keys older than the story window."""
        before = utcnow() - timedelta(seconds=self.settings.stories.window)
        removed = self.store.prune_story_index(before=before)
        if removed:
            log.info("store: pruned %d story-index keys older than the story window", removed)

    def close(self) -> None:
        self.extractor.close()
        if "fetcher" in self.__dict__:
            self.fetcher.close()
        self.store.close()


def open_store(settings: Settings) -> Store:
    store = Store(url=settings.storage.url)
    try:
        store.prepare_schema()
        _sync_feeds(store, settings)
    except Exception:
        store.close()
        raise
    return store


def _sync_feeds(store: Store, settings: Settings) -> None:
    """The config file's feeds into the database; on a read-only database (commands that only
    read) the feeds stay as they were."""
    feeds = [
        FeedDef(name=f.name, url=f.url, interval_seconds=int(f.interval)) for f in settings.feeds
    ]
    try:
        store.sync_config_feeds(feeds)
    except ReadOnly as exc:
        log.warning("%s; config feeds not updated, commands that write will fail", exc)


def build_app(settings: Settings) -> App:
    store = open_store(settings)
    try:
        outbox = build_outbox(settings, store)  # validates alert URLs before anything runs
    except Exception:
        store.close()
        raise
    return App(
        settings=settings,
        store=store,
        model=ModelHolder(settings=settings, store=store),
        outbox=outbox,
        extractor=ExtractorPool(workers=settings.scheduler.extract_processes),
    )


def build_fetcher(
    fetch: FetchSettings,
    *,
    client: httpx.Client | None = None,
    resolver: Resolver | None = None,
    allow_private_networks: bool | None = None,
) -> Fetcher:
    """The fetcher of ``[fetch]``; a client, resolver or address policy may be passed in."""
    from monitor.fetch import Fetcher, resolve_host

    if allow_private_networks is None:
        allow_private_networks = fetch.allow_private_networks
    return Fetcher(
        timeout=fetch.timeout,
        max_bytes=fetch.max_bytes,
        max_redirects=fetch.max_redirects,
        user_agent=fetch.user_agent,
        allow_private_networks=allow_private_networks,
        client=client,
        resolver=resolver or resolve_host,
    )


def review_links(settings: Settings) -> ReviewLinks | None:
    """Links from alerts to the review page, when ``[web] public_url`` says where it is."""
    if settings.web.public_url is None:
        return None
    key = link_key(os.environ.get(TOKEN_ENV) or None)
    return ReviewLinks(
        public_url=settings.web.public_url, key=key, ttl_seconds=settings.web.link_ttl
    )


def build_outbox(settings: Settings, store: Store) -> Outbox:
    alerts = settings.alerts
    destinations = notify.load_destinations(
        named=[(d.name, d.url) for d in alerts.destinations],
        urls=alerts.urls,
        config_file=alerts.config,
    )
    return Outbox(
        store=store,
        destinations={d.key: d for d in destinations},
        aliases={d.legacy_key: d.key for d in destinations},
        renderer=notify.Renderer(user_templates=alerts.templates, links=review_links(settings)),
        settings=alerts,
    )
