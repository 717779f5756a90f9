"""APScheduler wiring: a tick asks storage which feeds are due and polls them on a thread pool.

No feed is polled twice at once. SIGINT/SIGTERM stop new work, let polls in flight finish the
entry they are on, and return.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler

from monitor.errors import MonitorError
from monitor.models import utcnow
from monitor.pipeline import PollResult, Stages, poll_feed

log = logging.getLogger(__name__)


class _SkipWhileBusy(logging.Filter):
    """APScheduler warns on every tick a job is due while its previous run is still going.
    With ``max_instances=1`` that is what we asked for (a delivery waiting on a locked or
    unreachable database, a slow SMTP server), and the job logs its own failure once: drop the
    warning instead of repeating it several times a second."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


_SKIP_WHILE_BUSY = _SkipWhileBusy()

# While a job keeps failing the same way (the database away), say so again this often.
REMIND_EVERY_SECONDS = 60.0


class Outage:
    """One clear line when a recurring job starts failing, a reminder while it keeps failing
    the same way, and one line when it works again, instead of a line on every tick."""

    def __init__(
        self,
        *,
        failing: str,
        recovered: str,
        remind_every: float = REMIND_EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.failing = failing
        self.recovered = recovered
        self.remind_every = remind_every
        self.since: float | None = None
        self.failures = 0
        self._said: tuple[str, float] | None = None

    def failed(self, exc: Exception) -> None:
        now = self.clock()
        self.since = now if self.since is None else self.since
        self.failures += 1
        message = str(exc)
        if self._said and self._said[0] == message and now - self._said[1] < self.remind_every:
            return
        repeat = self._said is not None and self._said[0] == message
        self._said = (message, now)
        suffix = f" (failing for {now - self.since:.0f}s, {self.failures} tries)" if repeat else ""
        log.error("%s: %s; will keep trying%s", self.failing, message, suffix)

    def succeeded(self) -> None:
        if self.since is None:
            return
        log.info(
            "%s after %.0fs (%d failed tries)",
            self.recovered,
            self.clock() - self.since,
            self.failures,
        )
        self.since, self.failures, self._said = None, 0, None


class Daemon:
    def __init__(
        self,
        *,
        stages: Stages,
        workers: int,
        tick_seconds: float,
        deliver: Callable[[], object] = lambda: None,
        maintain: Callable[[], object] = lambda: None,
    ) -> None:
        # a stored match wakes delivery at once instead of waiting for its next round
        self.stages = dataclasses.replace(stages, match_stored=self.wake_delivery)
        self.deliver = deliver
        self.maintain = maintain
        self.tick_seconds = tick_seconds
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poll")
        self.scheduler = BlockingScheduler(timezone="UTC")
        self.stopping = threading.Event()
        self._wake = threading.Event()
        self._delivery = threading.Thread(target=self._delivery_loop, name="deliver", daemon=True)
        self._in_flight: set[int] = set()
        self._lock = threading.Lock()
        self._tick_outage = Outage(
            failing="scheduler: cannot read due feeds",
            recovered="scheduler: reading due feeds again",
        )
        self._deliver_outage = Outage(
            failing="notify: cannot deliver alerts now", recovered="notify: delivering alerts again"
        )

    def run(self) -> None:
        """Block until a signal arrives, then drain the pool and return."""
        self._install_signal_handlers()
        logging.getLogger("apscheduler.scheduler").addFilter(_SKIP_WHILE_BUSY)
        self.scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.tick_seconds,
            id="tick",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
        self.scheduler.add_job(
            self._guarded(self.maintain, what="maintenance"),
            "interval",
            hours=1,
            id="maintain",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
        self.stages.warm_up()
        log.info("scheduler: started, checking for due feeds every %gs", self.tick_seconds)
        self._delivery.start()
        self.scheduler.start()
        log.info("scheduler: stopping, waiting for polls in flight")
        self.pool.shutdown(wait=True)
        self._wake.set()
        self._delivery.join()
        self._deliver()
        log.info("scheduler: stopped")

    @staticmethod
    def _guarded(job: Callable[[], object], *, what: str) -> Callable[[], None]:
        def run() -> None:
            try:
                job()
            except Exception:
                log.exception("scheduler: %s failed; will try again next time", what)

        return run

    def wake_delivery(self) -> None:
        """Deliver now (alerts were just queued); safe from any thread, cheap to repeat."""
        self._wake.set()

    def _delivery_loop(self) -> None:
        """Deliver what is due every tick, and at once when woken. A wake during a delivery
        is kept for the next round, so no queued alert waits for the tick."""
        while not self.stopping.is_set():
            self._wake.wait(timeout=self.tick_seconds)
            self._wake.clear()
            if not self.stopping.is_set():
                self._deliver()

    def _deliver(self) -> None:
        try:
            self.deliver()
        except MonitorError as exc:
            self._deliver_outage.failed(exc)
            return
        except Exception:
            log.exception("notify: unexpected error while delivering alerts")
            return
        self._deliver_outage.succeeded()

    def tick(self) -> None:
        if self.stopping.is_set():
            return
        try:
            due = self.stages.store.claim_due_feeds(now=utcnow())
        except MonitorError as exc:
            self._tick_outage.failed(exc)
            return
        self._tick_outage.succeeded()
        for feed in due:
            self._submit(feed.id or 0)

    def stop(self) -> None:
        if self.stopping.is_set():
            return
        self.stopping.set()
        # shutdown() takes locks; never call it from inside the signal handler itself.
        threading.Thread(target=self.scheduler.shutdown, kwargs={"wait": False}).start()

    def _submit(self, feed_id: int) -> None:
        with self._lock:
            if feed_id in self._in_flight:
                return
            self._in_flight.add(feed_id)
        future = self.pool.submit(self._poll, feed_id)
        future.add_done_callback(lambda _f: self._finished(feed_id))

    def _finished(self, feed_id: int) -> None:
        with self._lock:
            self._in_flight.discard(feed_id)

    def _poll(self, feed_id: int) -> PollResult:
        return safe_poll(feed_id=feed_id, stages=self.stages, should_stop=self.stopping.is_set)

    def _install_signal_handlers(self) -> None:
        def handler(signum: int, _frame: FrameType | None) -> None:
            log.info("scheduler: received %s", signal.Signals(signum).name)
            self.stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


def poll_now(*, stages: Stages, feed_ids: Iterable[int], workers: int) -> Iterator[PollResult]:
    """Poll the given feeds once, ignoring their schedule; results in completion order."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poll") as pool:
        futures: list[Future[PollResult]] = [
            pool.submit(safe_poll, feed_id=fid, stages=stages) for fid in feed_ids
        ]
        for future in futures:
            yield future.result()


def safe_poll(
    *, feed_id: int, stages: Stages, should_stop: Callable[[], bool] = lambda: False
) -> PollResult:
    """poll_feed, with anything it could not handle logged as one line instead of raised."""
    try:
        return poll_feed(feed_id=feed_id, stages=stages, should_stop=should_stop)
    except MonitorError as exc:
        log.error("poll: feed %d: %s", feed_id, exc)
        return PollResult(feed=str(feed_id), outcome="error", error=str(exc))
    except Exception as exc:
        log.exception("poll: feed %d: unexpected error", feed_id)
        return PollResult(feed=str(feed_id), outcome="error", error=repr(exc))
