"""Daemon and polling: `run`, `worker`, `poll`, `status`, `serve`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from monitor import __version__, views
from monitor.cli.common import State, console, errors, log, open_app
from monitor.errors import ConfigError
from monitor.lazy import lazy_function

if TYPE_CHECKING:
    from monitor.outbox import deliver_due
    from monitor.settings import public_view
else:
    deliver_due = lazy_function("monitor.outbox", "deliver_due")
    public_view = lazy_function("monitor.settings", "public_view")


def run(ctx: typer.Context) -> None:
    """Run the daemon: poll due feeds on schedule until SIGINT/SIGTERM."""
    from monitor.scheduler import Daemon

    with open_app(ctx) as application:
        feeds = application.store.feeds()
        log.info(
            "monitor %s: %d feeds, database %s",
            __version__,
            len(feeds),
            public_view(application.settings)["storage"]["url"],
        )
        application.model()  # build or load the classifier before the first poll
        sched = application.settings.scheduler
        Daemon(
            stages=application.stages,
            workers=sched.workers,
            tick_seconds=sched.tick,
            deliver=lambda: deliver_due(application.outbox),
            maintain=application.maintain,
        ).run()


def worker(
    ctx: typer.Context,
    concurrency: Annotated[
        int | None,
        typer.Option(help="Jobs at once in this process [default: [worker] concurrency]."),
    ] = None,
) -> None:
    """Run a worker on PostgreSQL's job queue; start any number, on any number of machines."""
    from monitor.worker import require_postgresql, run_worker

    state: State = ctx.obj
    with errors():
        require_postgresql(state.settings().storage.url)
    with open_app(ctx) as application:
        application.model()  # build or load the classifier before the first job
        run_worker(
            app=application,
            concurrency=concurrency or application.settings.worker.concurrency,
        )


def poll(
    ctx: typer.Context,
    once: Annotated[  # accepted for scripts and `poll --once`; the value never reaches here
        bool,
        typer.Option("--once", expose_value=False, help="Poll every feed once now (the default)."),
    ] = True,
    feed: Annotated[
        str | None, typer.Option("--feed", help="Only the feed with this name.")
    ] = None,
) -> None:
    """Poll feeds once now, ignoring their schedule, and print a summary."""
    from monitor.scheduler import poll_now

    with open_app(ctx) as application:
        targets = [f for f in application.store.feeds() if feed is None or f.name == feed]
        if not targets:
            raise ConfigError(
                f"config: no feed named {feed!r}" if feed else "config: no feeds configured"
            )
        application.model()
        results = list(
            poll_now(
                stages=application.stages,
                feed_ids=[f.id or 0 for f in targets],
                workers=application.settings.scheduler.workers,
            )
        )
        delivery = deliver_due(application.outbox)
    console.print(views.poll_table(results))
    if application.outbox.destinations:
        console.print(views.delivery_line(delivery), highlight=False)


def status(ctx: typer.Context) -> None:
    """Per feed: last poll, HTTP status, errors, next check; totals; the job queue."""
    with open_app(ctx) as application:
        console.print(views.status_table(application.store.feeds(enabled_only=False)))
        counts = application.store.counts()
        alerts = application.store.alert_counts()
        failed = application.store.list_alerts(status="failed", limit=10)
        queue = application.store.queue_counts()
        items = application.store.alert_items(failed)
    console.print(" · ".join(f"{v} {k}" for k, v in counts.items()))
    console.print(views.alerts_line(alerts), highlight=False)
    if queue is not None:
        console.print(views.queue_line(queue), highlight=False)
    if failed:
        known = application.outbox.known
        console.print(views.alerts_table(failed, destinations=known, items=items))


def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(help="Address to listen on; other than loopback needs MONITOR_WEB_TOKEN.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
) -> None:
    """Serve the review page: matches, search, judgements, feeds, Atom feed, API, metrics."""
    from monitor import web

    with open_app(ctx) as application:
        web.serve(app=application, host=host, port=port, token=web.token_from_env())
