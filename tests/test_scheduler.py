"""The daemon says once that a recurring job fails, reminds while it keeps failing, and says
when it works again: a database outage is a few lines in the log, not one per tick."""

from __future__ import annotations

import logging

import pytest

from monitor.errors import StoreError
from monitor.models import utcnow
from monitor.scheduler import Outage
from monitor.store import Store
from tests.smtpserver import free_port

DOWN = StoreError("store: database error: connection refused")
STARTING = StoreError("store: database error: the database system is starting up")


def said(error: Exception, suffix: str = "") -> str:
    return f"ERROR job failing: {error}; will keep trying{suffix}"


# (events as (seconds, error or None for a success), the lines expected)
CASES = [
    pytest.param([(0, DOWN)], [said(DOWN)], id="first"),
    pytest.param([(t, DOWN) for t in range(30)], [said(DOWN)], id="quiet-within-a-minute"),
    pytest.param(
        [(0, DOWN), (30, DOWN), (61, DOWN)],
        [said(DOWN), said(DOWN, " (failing for 61s, 3 tries)")],
        id="reminder-after-a-minute",
    ),
    pytest.param(
        [(0, DOWN), (1, STARTING), (2, STARTING)],
        [said(DOWN), said(STARTING)],
        id="a-new-error-is-said-at-once",
    ),
    pytest.param(
        [(0, DOWN), (1, DOWN), (5, None), (6, None), (7, DOWN)],
        [said(DOWN), "INFO job working after 5s (2 failed tries)", said(DOWN)],
        id="recovery-once-then-a-new-outage",
    ),
    pytest.param([(0, None), (1, None)], [], id="success-alone-is-silent"),
]


@pytest.mark.parametrize(("events", "expected"), CASES)
def test_an_outage_is_a_few_clear_lines(
    events: list[tuple[float, Exception | None]],
    expected: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    outage = Outage(failing="job failing", recovered="job working", clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="monitor.scheduler"):
        for at, error in events:
            now[0] = at
            outage.failed(error) if error else outage.succeeded()
    assert [f"{r.levelname} {r.getMessage()}" for r in caplog.records] == expected


def test_an_unreachable_database_is_one_line() -> None:
    store = Store(url=f"postgresql+psycopg://monitor:pw@127.0.0.1:{free_port()}/monitor")
    try:
        with pytest.raises(StoreError) as caught:
            store.due_feeds(now=utcnow())
    finally:
        store.close()
    message = str(caught.value)
    assert message.startswith("store: database error: ") and "\n" not in message, message
