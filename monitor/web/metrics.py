"""Prometheus text exposition (format 0.0.4) of what the database knows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.models import Feed
from monitor.store.queue import QueueCounts
from monitor.web.render import as_utc, feed_state

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Snapshot:
    feeds: Sequence[Feed]
    counts: Mapping[str, int]  # Store.counts(): feeds, articles, matches, judgements
    judgements: Mapping[bool, int]
    alerts: Mapping[str, int] | None  # None: no alert table in this database
    queue: QueueCounts | None = None  # None: no job queue (SQLite, or no worker set up)


Sample = tuple[dict[str, str], float]


def render_metrics(snapshot: Snapshot) -> str:
    feeds = snapshot.feeds
    lines: list[str] = []
    states = {s: sum(feed_state(f) == s for f in feeds) for s in ("ok", "failing", "disabled")}
    _metric(
        lines, "monitor_feeds", "Feeds by state.", [({"state": s}, n) for s, n in states.items()]
    )
    _metric(
        lines,
        "monitor_feed_errors",
        "Consecutive fetch errors of each feed.",
        [({"feed": f.name}, f.error_count) for f in feeds],
    )
    _metric(
        lines,
        "monitor_feed_last_poll_timestamp_seconds",
        "When each feed was last polled.",
        [({"feed": f.name}, _epoch(f.last_polled_at)) for f in feeds if f.last_polled_at],
    )
    _metric(
        lines,
        "monitor_feed_next_check_timestamp_seconds",
        "When each feed is next due.",
        [({"feed": f.name}, _epoch(f.next_check_at)) for f in feeds if f.enabled],
    )
    _metric(
        lines,
        "monitor_fetch_errors",
        "Consecutive fetch errors summed over all feeds.",
        [({}, sum(f.error_count for f in feeds))],
    )
    for name in ("articles", "matches"):
        _metric(lines, f"monitor_{name}", f"Stored {name}.", [({}, snapshot.counts.get(name, 0))])
    _metric(
        lines,
        "monitor_judgements",
        "Reviewer judgements by verdict.",
        [
            ({"judgement": "relevant" if k else "irrelevant"}, snapshot.judgements.get(k, 0))
            for k in (True, False)
        ],
    )
    if snapshot.alerts is not None:
        _metric(
            lines,
            "monitor_alerts",
            "Alerts by status.",
            [({"status": s}, n) for s, n in sorted(snapshot.alerts.items())],
        )
    if snapshot.queue is not None:
        _queue_metrics(lines, snapshot.queue)
    return "\n".join(lines) + "\n"


def _queue_metrics(lines: list[str], queue: QueueCounts) -> None:
    states = {"waiting": queue.waiting, "running": queue.running, "failed": queue.failed}
    _metric(
        lines,
        "monitor_queue_jobs",
        "Jobs in the workers' queue by state.",
        [({"state": s}, n) for s, n in states.items()],
    )
    _metric(lines, "monitor_queue_workers", "Workers alive.", [({}, queue.workers)])


def _metric(lines: list[str], name: str, help_text: str, samples: Iterable[Sample]) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    for labels, value in samples:
        lines.append(f"{name}{_labels(labels)} {_number(value)}")


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _epoch(when: datetime | None) -> float:
    moment = as_utc(when)
    return moment.timestamp() if moment else 0.0
