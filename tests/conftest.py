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

DATABASE_FREE = frozenset(
    {  # modules whose tests never open the database under test (``database_url``): the
        # PostgreSQL pass would run them exactly as the SQLite pass did, so it leaves them out
        "test_alert_errors.py",
        "test_architecture.py",
        "test_article_reasons.py",
        "test_classify.py",
        "test_docs.py",
        "test_export.py",
        "test_extract.py",
        "test_feeds.py",
        "test_fetch.py",
        "test_fuzz.py",
        "test_links.py",
        "test_masking.py",
        "test_serve.py",
        "test_store_errors.py",
        "test_support.py",
    }
)
_running_database_free: list[str] = []  # the node id of a running DATABASE_FREE test, if any


class DatabaseFreeError(AssertionError):
    """A test of a DATABASE_FREE module asked for the database under test."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL pass, leave out the DATABASE_FREE modules (they ran on the SQLite pass)."""
    if not TEST_DATABASE_URL:
        return
    free = [item for item in items if item.path.name in DATABASE_FREE]
    if free:
        config.hook.pytest_deselected(items=free)
        items[:] = [item for item in items if item.path.name not in DATABASE_FREE]


@pytest.fixture(autouse=True)
def _database_free_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """Keeps DATABASE_FREE honest: ``database_url`` refuses a test of those modules."""
    if request.node.path.name not in DATABASE_FREE:
        yield
        return
    _running_database_free.append(request.node.nodeid)
    yield
    _running_database_free.clear()


def database_url(tmp_path: Path, name: str = "monitor") -> str:
    """A fresh, empty database for this test: SQLite in tmp_path, or a new PostgreSQL database
    on the server named by MONITOR_TEST_DATABASE_URL (the same name gives the same database)."""
    if _running_database_free:
        raise DatabaseFreeError(
            f"{_running_database_free[0]} opens the database under test: take its module out of "
            "DATABASE_FREE in tests/conftest.py so the PostgreSQL pass runs it"
        )
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
def _shared_model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One model cache for the session: tests that do not name their own cache folder build
    the seeds model once instead of once per test (about 2 s each)."""
    folder = tmp_path_factory.mktemp("model-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(support.MODEL_CACHE_ENV, str(folder))
        yield


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
        classifier={"seeds": str(SEEDS), "cache_dir": str(support.default_model_cache(tmp_path))},
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
