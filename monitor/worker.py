"""Procrastinate wiring for many machines: identical ``monitor worker`` processes, any number,
on one PostgreSQL. No business rules and no locking of its own: the jobs call the stage
functions ``pipeline`` calls, the queue's locks and the store's row claims do the rest.

Jobs, each one idempotent unit with a key:
- ``poll_feed(feed_id)``: conditional GET and parse; the new entries are recorded, one
  ``process_entry`` job each, in the same transaction as the feed's success. Queueing lock and
  lock per feed: one poll per feed waiting and one running, whatever the number of workers.
- ``process_entry(pending_id)``: page, extraction, score, story, article, alerts. The recorded
  entry goes in the article's transaction, so a second run finds nothing to do.
Periodic jobs, deferred once per period however many workers run (Procrastinate records each
period's defer under a unique key):
- ``due_feeds`` every tick: claim due feeds (``FOR UPDATE SKIP LOCKED`` and a lease) and defer
  their polls in that transaction.
- ``deliver`` every tick: the outbox (instant alerts, and digests when due).
- ``retry_stalled`` every tick: jobs left running by a worker without a heartbeat for
  ``[worker] stalled_after`` go back to the queue (a SIGKILLed or partitioned worker).
- ``prune`` hourly: story-index keys older than the story window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.types import JSONDict
from sqlalchemy.engine import make_url

from monitor import pipeline
from monitor.app import App
from monitor.errors import ConfigError, StoreError
from monitor.models import Feed, utcnow
from monitor.outbox import deliver_due
from monitor.scheduler import Outage
from monitor.settings import WorkerSettings

QUEUE = "monitor"
CONTEXT_KEY = "monitor"
# an entry's job retries for about half an hour (waits doubling from 2 s, 10 tries); after that
# the hourly prune job queues the recorded entry again
ENTRY_RETRY = procrastinate.RetryStrategy(max_attempts=10, exponential_wait=2)
STALE_ENTRY_AGE = timedelta(hours=1)
PRUNE_CRON = "17 * * * *"
SHUTDOWN_GRACE_SECONDS = 30.0
RESTART_WAIT_SECONDS = 2.0  # between tries to start the worker again while the database is away

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Jobs:
    """What every job needs, handed to the worker as Procrastinate's additional context."""

    app: App
    deferrer: procrastinate.App  # defers on the caller's connection, in its transaction
    settings: WorkerSettings


def conninfo(url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def every(seconds: float) -> str:
    """A cron expression firing every ``seconds`` (Procrastinate's croniter takes a sixth,
    seconds field)."""
    whole = max(round(seconds), 1)
    if whole < 60:
        return f"* * * * * */{whole}"
    return f"*/{max(whole // 60, 1)} * * * *"


def require_postgresql(url: str) -> None:
    if make_url(url).get_backend_name() != "postgresql":
        raise ConfigError(
            "worker: needs PostgreSQL ([storage] url is "
            f"{make_url(url).get_backend_name()}); on one machine run `monitor run` instead"
        )


def build_queue(
    *, url: str, settings: WorkerSettings, for_defers: bool = False
) -> procrastinate.App:
    """The Procrastinate app with monitor's jobs and periodic jobs registered. ``for_defers``:
    the synchronous twin a running job defers with, on its own transaction's connection."""
    connector: procrastinate.BaseConnector = (
        procrastinate.SyncPsycopgConnector(conninfo=conninfo(url))
        if for_defers
        else procrastinate.PsycopgConnector(conninfo=conninfo(url))
    )
    queue = procrastinate.App(connector=connector)
    queue.task(name="poll_feed", queue=QUEUE, pass_context=True)(poll_feed_job)
    queue.task(name="process_entry", queue=QUEUE, pass_context=True, retry=ENTRY_RETRY)(
        process_entry_job
    )
    tick = every(settings.tick)
    periodic: list[tuple[Any, str, str]] = [
        (due_feeds_job, "due_feeds", tick),
        (deliver_job, "deliver", tick),
        (retry_stalled_job, "retry_stalled", tick),
        (prune_job, "prune", PRUNE_CRON),
    ]
    for func, name, cron in periodic:
        task = queue.task(name=name, queue=QUEUE, pass_context=True, queueing_lock=name)(func)
        queue.periodic(cron=cron, periodic_id=name)(task)
    return queue


def run_worker(*, app: App, concurrency: int) -> None:
    """Block, running jobs, until SIGINT/SIGTERM (running jobs finish, within a grace time).
    When the database goes away Procrastinate's worker stops; it is started again once the
    database answers, so a PostgreSQL restart needs no one to restart the workers."""
    url, settings = app.settings.storage.url, app.settings.worker
    jobs = Jobs(
        app=app,
        deferrer=build_queue(url=url, settings=settings, for_defers=True),
        settings=settings,
    )
    options: dict[str, Any] = {
        "queues": [QUEUE],
        "concurrency": concurrency,
        "additional_context": {CONTEXT_KEY: jobs},
        "update_heartbeat_interval": settings.heartbeat,
        "stalled_worker_timeout": settings.stalled_after,
        "shutdown_graceful_timeout": SHUTDOWN_GRACE_SECONDS,
        "delete_jobs": "successful",
        "install_signal_handlers": False,  # ours: a stop signal ends the restart loop too
    }
    log.info(
        "worker: started, %d jobs at once, periodic jobs every %gs", concurrency, settings.tick
    )
    asyncio.run(_supervise(lambda: build_queue(url=url, settings=settings), options))
    log.info("worker: stopped")


async def _supervise(make_queue: Callable[[], procrastinate.App], options: dict[str, Any]) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    outage = Outage(
        failing="worker: the job queue's database is unreachable",
        recovered="worker: the job queue's database answers again",
    )
    while not stopping.is_set():
        try:
            await _run_once(make_queue(), options, stopping=stopping, outage=outage)
        except StoreError as exc:
            outage.failed(exc)
        except Exception as exc:  # the database went away while opening or running
            outage.failed(StoreError(f"store: database error: {' '.join(str(exc).split())}"))
        if not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=RESTART_WAIT_SECONDS)


async def _run_once(
    queue: procrastinate.App,
    options: dict[str, Any],
    *,
    stopping: asyncio.Event,
    outage: Outage,
) -> None:
    async with queue.open_async():
        await queue.check_connection_async()
        outage.succeeded()
        worker = asyncio.create_task(queue.run_worker_async(**options))
        stop = asyncio.create_task(stopping.wait())
        await asyncio.wait({worker, stop}, return_when=asyncio.FIRST_COMPLETED)
        if not worker.done():
            worker.cancel()  # Procrastinate's graceful stop: running jobs finish first
        stop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
    if not stopping.is_set():
        raise StoreError("worker: Procrastinate's worker stopped (database connection lost)")


def _jobs(context: procrastinate.JobContext) -> Jobs:
    jobs: Jobs = context.additional_context[CONTEXT_KEY]
    return jobs


# -- jobs -----------------------------------------------------------------------------------


def poll_feed_job(context: procrastinate.JobContext, *, feed_id: int) -> str:
    jobs = _jobs(context)
    stages = jobs.app.stages
    feed = stages.store.feed(feed_id)
    fetched = pipeline.fetch_new_entries(feed=feed, stages=stages, started=time.monotonic())
    if isinstance(fetched, pipeline.PollResult):
        return fetched.outcome
    response, entries = fetched

    def defer(connection: Any, pending_ids: list[int]) -> None:
        _defer_entries(jobs.deferrer, connection=connection, pending_ids=pending_ids)

    stages.store.record_entries(
        feed_id=feed_id, entries=entries, response=response, now=utcnow(), then=defer
    )
    log.info("poll: %s status=%d new=%d (queued)", feed.name, response.status, len(entries))
    return "ok"


def process_entry_job(context: procrastinate.JobContext, *, pending_id: int) -> str:
    stages = _jobs(context).app.stages
    recorded = stages.store.pending_entry(pending_id)
    if recorded is None:
        return "already stored"
    feed_id, entry = recorded
    match = pipeline.store_entry(
        entry, feed=stages.store.feed(feed_id), stages=stages, pending_id=pending_id
    )
    return "match" if match is not None else "stored"


def due_feeds_job(context: procrastinate.JobContext, *, timestamp: int) -> int:
    jobs = _jobs(context)

    def defer(connection: Any, feeds: list[Feed]) -> None:
        for feed in feeds:
            _defer_poll(jobs.deferrer, connection=connection, feed_id=feed.id or 0)

    return len(jobs.app.store.claim_due_feeds(now=utcnow(), then=defer))


def _defer_poll(deferrer: procrastinate.App, *, connection: Any, feed_id: int) -> None:
    """One poll job per feed: a poll already waiting for this feed is enough."""
    task = deferrer.configure_task(
        name="poll_feed",
        queue=QUEUE,
        queueing_lock=f"poll-feed-{feed_id}",
        lock=f"feed-{feed_id}",
        connection=connection,
    )
    try:
        with connection.transaction():  # a savepoint: a refused defer keeps the claim
            task.defer(feed_id=feed_id)
    except AlreadyEnqueued:
        log.debug("worker: a poll of feed %d is already waiting", feed_id)


def deliver_job(context: procrastinate.JobContext, *, timestamp: int) -> int:
    report = deliver_due(_jobs(context).app.outbox)
    return report.sent


async def retry_stalled_job(context: procrastinate.JobContext, *, timestamp: int) -> int:
    """Procrastinate's recipe for stalled jobs: the running jobs of workers whose heartbeat is
    older than ``stalled_after`` are put back in the queue for another worker."""
    manager = context.app.job_manager
    stalled = await manager.get_stalled_jobs(
        seconds_since_heartbeat=_jobs(context).settings.stalled_after
    )
    for job in stalled:
        log.warning("worker: job %s of a worker gone silent goes back to the queue", job.id)
        await manager.retry_job(job)
    return len(list(stalled))


def prune_job(context: procrastinate.JobContext, *, timestamp: int) -> int:
    """Housekeeping, and recorded entries whose job gave up get one again (nothing is lost to a
    long outage; an entry whose job still runs is stored once all the same)."""
    jobs = _jobs(context)
    jobs.app.maintain()

    def defer(connection: Any, pending_ids: list[int]) -> None:
        _defer_entries(jobs.deferrer, connection=connection, pending_ids=pending_ids)

    again = jobs.app.store.stale_entries(before=utcnow() - STALE_ENTRY_AGE, then=defer)
    if again:
        log.warning(
            "worker: %d recorded entries had no article after an hour: queued again", len(again)
        )
    return len(again)


def _defer_entries(deferrer: procrastinate.App, *, connection: Any, pending_ids: list[int]) -> None:
    task = deferrer.configure_task(name="process_entry", queue=QUEUE, connection=connection)
    kwargs: list[JSONDict] = [{"pending_id": pid} for pid in pending_ids]
    task.batch_defer(*kwargs)
