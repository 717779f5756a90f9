"""Shared fixtures: a real local HTTP server, the corpus, settings on a temporary database."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from faults.daemon_harness import admin
from faults.daemon_harness import query as query  # shared with the fault suite
from monitor.app import App, build_app
from monitor.settings import Settings
from tests import support
from tests.httpserver import FeedServer, Item, Route, html_page, rss

REPO = Path(__file__).resolve().parent.parent
SEEDS = support.SEEDS


TEST_DATABASE_URL = os.environ.get("MONITOR_TEST_DATABASE_URL")
_created_databases: list[str] = []


def database_url(tmp_path: Path, name: str = "monitor") -> str:
    """A fresh, empty database for this test: SQLite in tmp_path, or a new PostgreSQL database
    on the server named by MONITOR_TEST_DATABASE_URL (the same name gives the same database)."""
    if not TEST_DATABASE_URL:
        return f"sqlite:///{tmp_path / name}.db"
    db = "t_" + hashlib.sha256(f"{tmp_path}/{name}".encode()).hexdigest()[:20]
    url = make_url(TEST_DATABASE_URL).set(database=db)
    if db not in _created_databases:
        _admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)', f'CREATE DATABASE "{db}"')
        _created_databases.append(db)
    return url.render_as_string(hide_password=False)


def _admin(*statements: str) -> None:
    admin(TEST_DATABASE_URL or "", *statements)


@pytest.fixture(scope="session", autouse=True)
def _drop_test_databases() -> Iterator[None]:
    yield
    for db in _created_databases:
        _admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def corpus_dir() -> Path:
    return Path(os.environ.get("MONITOR_CORPUS", REPO.parent / "shared" / "corpus"))


@pytest.fixture
def corpus() -> Path:
    path = corpus_dir()
    if not (path / "aeb" / "html").is_dir():
        pytest.skip(f"corpus not found at {path} (set MONITOR_CORPUS to ../shared/corpus)")
    return path


@dataclass(frozen=True)
class Page:
    path: str
    title: str
    body: bytes


def aeb_pages(corpus: Path, *, limit: int) -> list[Page]:
    truth = json.loads((corpus / "aeb" / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key in sorted(truth)[:limit]:
        body = gzip.decompress((corpus / "aeb" / "html" / f"{key}.html.gz").read_bytes())
        pages.append(Page(path=f"/aeb/{key}.html", title=key[:12], body=body))
    return pages


def seed_pages() -> list[Page]:
    pages = []
    for path in sorted(SEEDS.glob("*.txt")):
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        title = max(lines[:4], key=len)
        pages.append(
            Page(
                path=f"/seed/{path.stem}.html",
                title=title,
                body=html_page(title=title, text="\n".join(lines)),
            )
        )
    return pages


@pytest.fixture
def server() -> Iterator[FeedServer]:
    srv = FeedServer().start()
    yield srv
    srv.stop()


def publish(
    server: FeedServer, *, feed_path: str, pages: list[Page], etag: str | None = "v1"
) -> str:
    """Serve ``pages`` and a feed at ``feed_path`` linking to them; return the feed URL."""
    for page in pages:
        server.routes[page.path] = Route(body=page.body, content_type="text/html; charset=utf-8")
    items = [Item(title=p.title, link=server.url(p.path), guid=None) for p in pages]
    server.routes[feed_path] = Route(body=rss(items), etag=etag)
    return server.url(feed_path)


def make_settings(tmp_path: Path, *, feeds: list[dict[str, object]], **fetch: object) -> Settings:
    return Settings(
        storage={"url": database_url(tmp_path)},
        classifier={"seeds": str(SEEDS), "cache_dir": str(tmp_path / "model")},
        fetch={"timeout": 3, "allow_private_networks": True, **fetch},
        scheduler={"tick": 0.2, "workers": 4, "extract_processes": 0},
        feeds=feeds,
    )


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[object]:
    apps: list[App] = []

    def factory(*, feeds: list[dict[str, object]], **fetch: object) -> App:
        application = build_app(make_settings(tmp_path, feeds=feeds, **fetch))
        apps.append(application)
        return application

    yield factory
    for application in apps:
        application.close()
