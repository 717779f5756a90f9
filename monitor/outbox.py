"""Deliver the outbox: claim due alerts, render, send, record each outcome.

Instant alerts go out one message per (match, destination); digest alerts that are due are
grouped into one message per destination. Each outcome is committed right after its send, so
the only window in which a crash repeats a message is between the destination accepting it and
that commit. A database that is away at that moment is waited for (about 30 s) rather than
letting the lease expire and the message go out again.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from monitor import notify
from monitor.errors import StoreError
from monitor.models import Alert, AlertItem, utcnow
from monitor.settings import AlertSettings
from monitor.store import Store

log = logging.getLogger(__name__)

# Seconds between tries to record 'sent' while the database is away (about 30 s in all).
RECORD_SENT_WAITS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)


@dataclass
class Outbox:
    store: Store
    destinations: dict[str, notify.Destination]
    renderer: notify.Renderer
    settings: AlertSettings
    aliases: dict[str, str] = field(default_factory=dict)  # older rows' URL hash -> name

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.destinations)

    @property
    def known(self) -> dict[str, notify.Destination]:
        """Every key an alert row may hold (names, and the URL hashes older versions stored)."""
        legacy = {old: self.destinations[name] for old, name in self.aliases.items()}
        return {**legacy, **self.destinations}


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def deliver_due(outbox: Outbox, *, now: datetime | None = None) -> DeliveryReport:
    """Send every alert that is due now; safe to call from several processes at once."""
    now = now or utcnow()
    report = DeliveryReport()
    alerts = outbox.store.claim_due_alerts(now=now)
    if not alerts:
        return report
    items = outbox.store.alert_items(alerts)
    known = outbox.known
    for destination_key, batch in _batches(alerts).items():
        destination = known.get(destination_key)
        if destination is None:
            _record(
                outbox,
                report,
                batch,
                error="notify: destination no longer configured",
                now=now,
                give_up=True,
            )
            continue
        for group in _groups(batch):
            message = _render(outbox.renderer, group, items)
            if message is None:
                _record(
                    outbox,
                    report,
                    group,
                    error="notify: match no longer exists",
                    now=now,
                    give_up=True,
                )
                continue
            result = notify.send(destination, message)
            _record(outbox, report, group, error=result.error, now=now)
    return report


def _batches(alerts: list[Alert]) -> dict[str, list[Alert]]:
    by_destination: dict[str, list[Alert]] = defaultdict(list)
    for alert in alerts:
        by_destination[alert.destination].append(alert)
    return by_destination


def _groups(batch: list[Alert]) -> list[list[Alert]]:
    """Each instant alert alone; all digest alerts of a destination together."""
    digest = [a for a in batch if a.mode == "digest"]
    return [[a] for a in batch if a.mode != "digest"] + ([digest] if digest else [])


def _render(
    renderer: notify.Renderer, group: list[Alert], items: dict[int, AlertItem]
) -> notify.Message | None:
    found = [items[a.id or 0] for a in group if (a.id or 0) in items]
    if not found:
        return None
    if group[0].mode == "digest":
        return renderer.digest(found)
    return renderer.match(found[0])


def _record(
    outbox: Outbox,
    report: DeliveryReport,
    group: list[Alert],
    *,
    error: str | None,
    now: datetime,
    give_up: bool = False,
) -> None:
    ids = [a.id or 0 for a in group]
    if error is None:
        _record_sent(outbox, ids)
        report.sent += len(ids)
        log.info(
            "notify: sent %d alert(s) to %s",
            len(ids),
            outbox.known[group[0].destination].display,
        )
        return
    s = outbox.settings
    rows = outbox.store.mark_unsent(
        alert_ids=ids,
        error=error,
        now=now,
        retry_base=s.retry_base,
        retry_max=s.retry_max,
        give_up_after=0 if give_up else s.give_up_after,
    )
    failed = sum(r.status == "failed" for r in rows)
    report.failed += failed
    report.retrying += len(rows) - failed
    report.errors.append(error)
    log.warning(
        "notify: %d alert(s) not delivered (%s); %s",
        len(ids),
        error,
        "giving up" if failed else f"retry at {rows[0].next_attempt_at:%H:%M:%S} UTC",
    )


def _record_sent(outbox: Outbox, ids: list[int]) -> None:
    """Commit 'sent'. The message is already out: a database that is away at this moment must
    not make it go out again when the lease expires, so keep trying for a while."""
    for wait in (*RECORD_SENT_WAITS, None):
        try:
            outbox.store.mark_sent(alert_ids=ids, now=utcnow())
            return
        except StoreError as exc:
            if wait is None:
                log.error(
                    "notify: alert(s) %s delivered but could not record it (%s); they will be "
                    "sent again when their lease expires",
                    ids,
                    exc,
                )
                raise
            log.warning(
                "notify: alert(s) %s delivered, could not record it yet (%s); again in %gs",
                ids,
                exc,
                wait,
            )
            time.sleep(wait)


def next_digest_at(*, schedule: str, now: datetime) -> datetime:
    from apscheduler.triggers.cron import CronTrigger

    trigger = CronTrigger.from_crontab(schedule, timezone=UTC)
    fire = trigger.get_next_fire_time(None, now)
    return fire or now
