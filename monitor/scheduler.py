"""APScheduler wiring: a tick asks storage which feeds are due and polls them on a thread pool.

No feed is polled twice at once. SIGINT/SIGTERM stop new work, let polls in flight finish the
entry they are on, and return.
"""

from __future__ import annotations

import logging
import signal
import threading
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
        self.stages = stages
        self.deliver = deliver
        self.maintain = maintain
        self.tick_seconds = tick_seconds
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poll")
        self.scheduler = BlockingScheduler(timezone="UTC")
        self.stopping = threading.Event()
        self._in_flight: set[int] = set()
        self._lock = threading.Lock()

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
            self._deliver,
            "interval",
            seconds=self.tick_seconds,
            id="deliver",
            max_instances=1,
            coalesce=True,
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
        log.info("scheduler: started, checking for due feeds every %gs", self.tick_seconds)
        self.scheduler.start()
        log.info("scheduler: stopping, waiting for polls in flight")
        self.pool.shutdown(wait=True)
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

    def _deliver(self) -> None:
        try:
            self.deliver()
        except MonitorError as exc:
            log.error("notify: cannot deliver alerts now: %s", exc)
        except Exception:
            log.exception("notify: unexpected error while delivering alerts")

    def tick(self) -> None:
        if self.stopping.is_set():
            return
        try:
            due = self.stages.store.due_feeds(now=utcnow())
        except MonitorError as exc:
            log.error("scheduler: cannot read due feeds: %s", exc)
            return
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
