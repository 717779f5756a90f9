"""Crashes: ``kill -9`` of the real daemon at random moments while feeds keep publishing.

Ground truth is what the local feed server published; the end state must hold every article
exactly once and one email per relevant story, whatever moment the daemon died at.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from faults.common import Case, Progress
from faults.daemon_harness import (
    Daemon,
    Publisher,
    Text,
    article_path,
    count_by_path,
    drop_database,
    emailed_paths,
    end_state,
    execute,
    fresh_database,
    known_texts,
    query,
    quiet_server,
    stored_urls,
    wait_until,
    write_config,
)
from tests.smtpserver import SMTPServer

GROUP = "crashes"
FEEDS = 3
PUBLISH_WITHIN = 3.0  # seconds: each run's articles are published at random within this
EARLY_KILLS = 0.2  # share of kills during start-up (before "scheduler: started")
MAX_KILL_DELAY = 3.0  # seconds after start-up, at most, before the kill
SETTLE_SECONDS = 90.0
ALERTS_SQL = (
    "SELECT al.id, al.status, ar.story_id, ar.url FROM alert al "
    'JOIN "match" m ON al.match_id = m.id JOIN article ar ON m.article_id = ar.id'
)


@dataclass
class KillLog:
    runs: int = 0
    during_startup: int = 0
    after_startup: int = 0


def run(
    *, reduced: bool, database_url: str | None, workdir: Path, progress: Progress
) -> list[Case]:
    runs = 8 if reduced else 50
    return [_kill_nine(runs=runs, server_url=database_url, workdir=workdir, progress=progress)]


def _kill_nine(*, runs: int, server_url: str | None, workdir: Path, progress: Progress) -> Case:
    rng = random.Random(6)
    relevant, irrelevant = known_texts()
    texts = _interleave(relevant, irrelevant, total=runs * 3, rng=rng)
    server = quiet_server()
    smtp = SMTPServer().start()
    db = fresh_database(server_url=server_url, workdir=workdir, name="crashes")
    publisher = Publisher(server=server, feeds=[f"/feed{i}.xml" for i in range(FEEDS)])
    config = write_config(
        workdir / "crashes.toml",
        database=db,
        feeds=publisher.feed_urls(),
        alert_urls=[smtp.url],
        scheduler={"extract_processes": 1},
    )
    started = time.monotonic()
    try:
        kills, stuck, code = _crash_runs(
            runs=runs,
            config=config,
            workdir=workdir,
            texts=texts,
            publisher=publisher,
            db=db,
            smtp=smtp,
            rng=rng,
            progress=progress,
        )
        return _verdict(
            publisher=publisher,
            db=db,
            smtp=smtp,
            kills=kills,
            stuck=stuck,
            exit_code=code,
            seconds=time.monotonic() - started,
        )
    finally:
        smtp.stop()
        server.stop()
        drop_database(server_url=server_url, url=db)


def _interleave(
    relevant: list[Text], irrelevant: list[Text], *, total: int, rng: random.Random
) -> list[Text]:
    """About one relevant article in three, each text used once."""
    n_rel = min(len(relevant), max(total // 3, 1))
    chosen = relevant[:n_rel] + irrelevant[: max(total - n_rel, 0)]
    rng.shuffle(chosen)
    return chosen


def _crash_runs(
    *,
    runs: int,
    config: Path,
    workdir: Path,
    texts: list[Text],
    publisher: Publisher,
    db: str,
    smtp: SMTPServer,
    rng: random.Random,
    progress: Progress,
) -> tuple[KillLog, dict[str, int], int | None]:
    log_path = workdir / "crashes.log"
    kills = KillLog()
    per_run = -(-len(texts) // runs)
    feeders = []
    for i in range(runs):
        chunk = texts[i * per_run : (i + 1) * per_run]
        feeders.append(_publish_soon(publisher, chunk, rng=rng))
        _one_run(config=config, log_path=log_path, kills=kills, rng=rng)
        if (i + 1) % 10 == 0 or i + 1 == runs:
            progress(f"crashes: {i + 1}/{runs} kills, {len(publisher.published)} published")
    for feeder in feeders:
        feeder.join()
    stuck = _expire_leases(db=db, smtp=smtp)
    progress(f"crashes: settling ({len(publisher.published)} articles published)")
    code = _settle(config=config, log_path=log_path, db=db, publisher=publisher)
    return kills, stuck, code


def _publish_soon(
    publisher: Publisher, texts: list[Text], *, rng: random.Random
) -> threading.Thread:
    """Publish these texts at random moments of the next few seconds, while the daemon runs
    (or dies, or starts again)."""
    delays = sorted(rng.uniform(0.0, PUBLISH_WITHIN) for _ in texts)

    def publish() -> None:
        started = time.monotonic()
        for delay, text in zip(delays, texts, strict=True):
            time.sleep(max(delay - (time.monotonic() - started), 0))
            publisher.publish(text)

    thread = threading.Thread(target=publish, daemon=True)
    thread.start()
    return thread


def _one_run(*, config: Path, log_path: Path, kills: KillLog, rng: random.Random) -> None:
    daemon = Daemon(config=config, log_path=log_path)
    if rng.random() < EARLY_KILLS:
        time.sleep(rng.uniform(0.1, 1.5))
        kills.during_startup += "scheduler: started" not in daemon.log()
    else:
        daemon.wait_log("scheduler: started", seconds=60)
        time.sleep(rng.uniform(0.0, MAX_KILL_DELAY))
        kills.after_startup += 1
    daemon.kill()
    kills.runs += 1


def _expire_leases(*, db: str, smtp: SMTPServer) -> dict[str, int]:
    """Alerts a killed daemon left "sending" are retaken once their 5-minute lease runs out;
    the harness ends those leases now instead of waiting. Those whose email already arrived
    were killed between the SMTP send and recording "sent": the documented window."""
    emailed = Counter(emailed_paths(smtp))
    sending = [r for r in query(db, ALERTS_SQL) if r[1] == "sending"]
    already = sum(emailed[article_path(str(r[3]))] > 0 for r in sending)
    execute(db, "UPDATE alert SET lease_until = next_attempt_at WHERE status = 'sending'")
    return {"left sending": len(sending), "already emailed": already}


def _settle(*, config: Path, log_path: Path, db: str, publisher: Publisher) -> int | None:
    daemon = Daemon(config=config, log_path=log_path)
    try:
        daemon.wait_log("scheduler: started", seconds=60)
        wanted = {p.path for p in publisher.published}

        def done() -> bool:
            stored = set(count_by_path(stored_urls(db)))
            statuses = {r[1] for r in query(db, ALERTS_SQL)}
            return wanted <= stored and statuses <= {"sent", "failed"}

        wait_until(done, seconds=SETTLE_SECONDS)
        time.sleep(2.0)  # room for a late duplicate to show up
    finally:
        code = daemon.stop()
    return code


def _verdict(
    *,
    publisher: Publisher,
    db: str,
    smtp: SMTPServer,
    kills: KillLog,
    stuck: dict[str, int],
    exit_code: int | None,
    seconds: float,
) -> Case:
    end = end_state(db=db, publisher=publisher, smtp=smtp)
    in_window = min(end.duplicate_alerts, stuck["already emailed"])
    figures = {
        "runs": kills.runs,
        "killed in start-up": kills.during_startup,
        "published": end.published,
        "stored": end.stored,
        "lost": len(end.lost),
        "duplicate articles": end.duplicate_articles,
        "relevant stories": end.relevant_stories,
        "unalerted": end.unalerted,
        "emails": end.emails,
        "left 'sending' by a kill": stuck["left sending"],
        "duplicate alerts": end.duplicate_alerts,
        "of them send→'sent' window": in_window,
        "seconds": round(seconds, 1),
    }
    problems = end.problems()
    if end.duplicate_alerts > in_window:
        problems.append(
            f"{end.duplicate_alerts - in_window} duplicate emails outside the send→'sent' window"
        )
    if exit_code != 0:
        problems.append(f"the settling daemon exited with {exit_code} on SIGTERM")
    detail = "; ".join(problems) or (
        f"{stuck['left sending']} alerts left 'sending' by a kill, their lease ended by the "
        f"harness; {in_window} duplicate email(s), each killed between SMTP send and 'sent'"
    )
    return Case(
        group=GROUP,
        name="kill -9 at random moments",
        proves=(
            "after kill -9 at random moments (start-up, polling, storing, sending) and a "
            "restart, every published article is stored exactly once and every relevant story "
            "emailed; a repeated email only for a kill between the SMTP send and recording 'sent'"
        ),
        passed=not problems,
        figures=figures,
        detail=detail,
    )
