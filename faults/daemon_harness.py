"""What the crash, outage and load cases share: the real daemon as a child process, its config,
a fresh database, a feed server that keeps publishing, and article texts whose relevance is known.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.pool import NullPool

from tests import support
from tests.httpserver import FeedServer, Item, Route, html_page, rss
from tests.smtpserver import SMTPServer, parts

REPO = Path(__file__).resolve().parent.parent
SEEDS = support.SEEDS
CORPUS = Path(os.environ.get("MONITOR_CORPUS", REPO.parent / "shared" / "corpus"))
MODEL_CACHE = REPO / ".cache" / "faults-model"  # built once, shared by every daemon started here
RELEVANT_AT = 0.8  # texts used as "relevant" score at least this, "irrelevant" at most
IRRELEVANT_AT = 0.2
MIN_IRRELEVANT = 150
FILLER_TOPICS = ("flower show", "marathon", "library reopening", "bus timetable", "bake sale")
FILLER_WORDS = ("annual", "revised", "municipal", "spring", "volunteer", "regional", "budget")
ARTICLE_LINK = re.compile(r"/article/\d+\.html")


# --- the daemon ---------------------------------------------------------------------------------


class Daemon:
    """``python -m monitor --config … run`` (or another command: ``worker``) in its own
    session, its log in a file."""

    def __init__(self, *, config: Path, log_path: Path, command: Sequence[str] = ("run",)) -> None:
        self.log_path = log_path
        self._log_file = log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), *command],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=self._log_file,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
        self._log_offset = log_path.stat().st_size

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        """This run's log so far."""
        with self.log_path.open("rb") as fh:
            fh.seek(self._log_offset)
            return fh.read().decode("utf-8", "replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_log(self, text: str, *, seconds: float = 60) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if text in self.log():
                return True
            if not self.alive():
                return False
            time.sleep(0.1)
        return False

    def kill(self) -> None:
        """SIGKILL the daemon, then anything it left behind in its session (extract workers)."""
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._log_file.close()

    def stop(self, *, seconds: float = 30) -> int | None:
        """SIGTERM and wait; the exit code, or None when it had to be killed."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        try:
            code: int | None = self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            code = None
        self.kill()
        return code


def write_config(
    path: Path,
    *,
    database: str,
    feeds: dict[str, str],
    interval: str = "1s",
    tick: str = "0.2s",
    alert_urls: Sequence[str] = (),
    retry_base: str = "0.3s",
    retry_max: str = "2s",
    scheduler: dict[str, int] | None = None,
) -> Path:
    return support.write_config(
        path,
        storage=database,
        cache_dir=MODEL_CACHE,
        fetch={"timeout": "5s", "allow_private_networks": True},
        scheduler={"tick": tick, **(scheduler or {})},
        feeds=feeds,
        feed_interval=interval,
        alerts=list(alert_urls),
        alert_options={"retry_base": retry_base, "retry_max": retry_max},
    )


def in_process_daemon(
    *, workdir: Path, name: str, db: str, publisher: Publisher, smtp_url: str, **config: Any
) -> Daemon:
    """The daemon on ``db`` watching the publisher's feeds and alerting to ``smtp_url``, with
    extraction in-process (the outage cases measure the database and SMTP, not extraction);
    ``config`` passes further ``write_config`` settings such as ``retry_base``."""
    path = write_config(
        workdir / f"{name}.toml",
        database=db,
        feeds=publisher.feed_urls(),
        alert_urls=[smtp_url],
        scheduler={"extract_processes": 0},
        **config,
    )
    return Daemon(config=path, log_path=workdir / f"{name}.log")


# --- databases ----------------------------------------------------------------------------------


def fresh_database(*, server_url: str | None, workdir: Path, name: str) -> str:
    """An empty database: a SQLite file in workdir, or a new database on the PostgreSQL server."""
    if not server_url:
        path = workdir / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    db = "f_" + hashlib.sha256(f"{workdir}/{name}".encode()).hexdigest()[:20]
    admin(server_url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)', f'CREATE DATABASE "{db}"')
    return make_url(server_url).set(database=db).render_as_string(hide_password=False)


def drop_database(*, server_url: str | None, url: str) -> None:
    if server_url:
        db = make_url(url).database
        admin(server_url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def admin(server_url: str, *statements: str) -> None:
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of one query; [] while the table does not exist yet or the database is unreachable."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.exec_driver_sql(sql).all()]
    except (OperationalError, ProgrammingError):
        return []
    finally:
        engine.dispose()


def execute(url: str, sql: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def wait_until(condition: Callable[[], bool], *, seconds: float, step: float = 0.25) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


# --- texts of known relevance -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    title: str
    body: str
    relevant: bool


def known_texts() -> tuple[list[Text], list[Text]]:
    """(relevant, irrelevant): seed articles and labelled dev rows the classifier is sure about
    (score ≥ 0.8 with label true, ≤ 0.2 with label false), distinct titles, corpus order."""
    from monitor.classify import load_classifier

    classifier = load_classifier(seeds_dir=SEEDS, threshold=0.5, cache_dir=MODEL_CACHE)
    rows = [_seed_row(p) for p in sorted(SEEDS.glob("*.txt"))]
    dev = CORPUS / "news" / "dev.jsonl"
    if dev.is_file():
        rows += [json.loads(line) for line in dev.read_text(encoding="utf-8").splitlines()]
    relevant: list[Text] = []
    irrelevant: list[Text] = []
    titles: set[str] = set()
    for row in rows:
        title, body = str(row["title"]).strip(), str(row["text"])
        if title in titles or len(body) < 400:
            continue
        titles.add(title)
        score = classifier.score(title=title, text=body).value
        if row["label"] and score >= RELEVANT_AT:
            relevant.append(Text(title=title, body=body, relevant=True))
        elif not row["label"] and score <= IRRELEVANT_AT:
            irrelevant.append(Text(title=title, body=body, relevant=False))
    for filler in _filler_rows(count=MIN_IRRELEVANT - len(irrelevant)):
        if classifier.score(title=filler["title"], text=filler["text"]).value <= IRRELEVANT_AT:
            irrelevant.append(Text(title=filler["title"], body=filler["text"], relevant=False))
    return relevant, irrelevant


def _filler_rows(*, count: int) -> list[dict[str, str]]:
    """Made-up local news when the corpus is absent: distinct, and about nothing relevant."""
    rng = random.Random(count)
    rows = []
    for n in range(max(count, 0)):
        topic = rng.choice(FILLER_TOPICS)
        sentences = [
            f"The {rng.choice(FILLER_WORDS)} {topic} drew {rng.randint(10, 9000)} residents on "
            f"day {n}, officials said, and the {rng.choice(FILLER_WORDS)} committee will meet "
            f"again after {rng.randint(2, 30)} days to review the {rng.choice(FILLER_WORDS)} plan."
            for _ in range(8)
        ]
        rows.append({"title": f"Town {topic} report number {n}", "text": "\n".join(sentences)})
    return rows


def _seed_row(path: Path) -> dict[str, object]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {"title": max(lines[:4], key=len), "text": "\n".join(lines), "label": 1}


# --- a feed server that keeps publishing --------------------------------------------------------


@dataclass
class Published:
    feed: str
    path: str
    text: Text
    at: float


@dataclass
class Publisher:
    """Feeds on a local FeedServer; ``publish`` adds an article page and lists it in its feed."""

    server: FeedServer
    feeds: list[str]  # feed paths
    items: dict[str, list[Item]] = field(default_factory=dict)
    published: list[Published] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for path in self.feeds:
            self.items[path] = []
            self.server.routes[path] = Route(body=rss([], title=path))

    def feed_urls(self) -> dict[str, str]:
        return {f"Feed {path.strip('/')}": self.server.url(path) for path in self.feeds}

    def publish(self, text: Text) -> Published:
        with self._lock:
            n = len(self.published)
            feed = self.feeds[n % len(self.feeds)]
            path = f"/article/{n}.html"
            self.server.routes[path] = Route(
                body=html_page(title=text.title, text=text.body),
                content_type="text/html; charset=utf-8",
            )
            item = Item(
                title=text.title,
                link=self.server.url(path),
                guid=f"article-{n}",
                summary=text.body[:300],
                published=time.time(),
            )
            self.items[feed].insert(0, item)
            self.server.routes[feed] = Route(body=rss(self.items[feed], title=feed))
            record = Published(feed=feed, path=path, text=text, at=time.monotonic())
            self.published.append(record)
            return record


def quiet_server() -> FeedServer:
    """A started FeedServer that does not print a traceback each time a killed daemon leaves a
    request half-read (connection reset by peer is what a crash looks like from the server)."""
    server = FeedServer()
    server.httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    return server.start()


def stored_urls(url: str) -> list[str]:
    return [str(r[0]) for r in query(url, "SELECT url FROM article")]


def count_by_path(urls: Sequence[str]) -> Counter[str]:
    """How often each published article (by its path) is among these URLs."""
    return Counter(article_path(u) for u in urls)


# --- ground truth against the end state ---------------------------------------------------------


@dataclass
class RelevantStories:
    story_paths: dict[int, set[str]]  # story id -> paths of its relevant articles
    unmatched: int  # relevant published texts stored without relevance (or not at all)

    def story_of(self, path: str) -> int | None:
        return next((s for s, paths in self.story_paths.items() if path in paths), None)


def relevant_stories(*, db: str, publisher: Publisher) -> RelevantStories:
    rows = query(db, "SELECT url, story_id, relevant FROM article")
    by_path = {article_path(str(u)): (int(s), bool(r)) for u, s, r in rows}
    story_paths: dict[int, set[str]] = {}
    unmatched = 0
    for item in publisher.published:
        found = by_path.get(item.path)
        if not item.text.relevant:
            continue
        if found is None or not found[1]:
            unmatched += 1
            continue
        story_paths.setdefault(found[0], set())
    for path, (story, relevant) in by_path.items():
        if story in story_paths and relevant:
            story_paths[story].add(path)
    return RelevantStories(story_paths=story_paths, unmatched=unmatched)


def emailed_paths(smtp: SMTPServer) -> list[str]:
    """The article each email is about: the first article link in its plain-text part."""
    found = []
    for message in list(smtp.messages):
        text = parts(message).get("text/plain", "")
        match = ARTICLE_LINK.search(text)
        found.append(match.group(0) if match else "?")
    return found


def article_path(url: str) -> str:
    match = ARTICLE_LINK.search(url)
    return match.group(0) if match else url


@dataclass(frozen=True, slots=True)
class EndState:
    published: int
    stored: int
    lost: list[str]
    duplicate_articles: int
    relevant_stories: int
    unalerted: int  # relevant stories never emailed, plus relevant articles without a match
    emails: int
    duplicate_alerts: int  # emails beyond the first for a story
    strangers: int  # emails about no relevant published article

    def problems(self) -> list[str]:
        found = []
        if self.lost:
            found.append(f"{len(self.lost)} articles never stored, e.g. {self.lost[:3]}")
        if self.duplicate_articles:
            found.append(f"{self.duplicate_articles} articles stored twice")
        if self.unalerted:
            found.append(f"{self.unalerted} relevant stories never emailed")
        if self.strangers:
            found.append(f"{self.strangers} emails about no relevant article")
        return found


def end_state(*, db: str, publisher: Publisher, smtp: SMTPServer) -> EndState:
    stored = count_by_path(stored_urls(db))
    published = [p.path for p in publisher.published]
    stories = relevant_stories(db=db, publisher=publisher)
    emails = Counter(emailed_paths(smtp))
    per_story = {s: sum(emails[p] for p in paths) for s, paths in stories.story_paths.items()}
    return EndState(
        published=len(published),
        stored=sum(stored.get(p, 0) for p in published),
        lost=[p for p in published if p not in stored],
        duplicate_articles=sum(n - 1 for n in stored.values() if n > 1),
        relevant_stories=len(per_story),
        unalerted=sum(n == 0 for n in per_story.values()) + stories.unmatched,
        emails=sum(emails.values()),
        duplicate_alerts=sum(n - 1 for n in per_story.values() if n > 1),
        strangers=sum(n for p, n in emails.items() if stories.story_of(p) is None),
    )
