"""`monitor alerts …`: test destinations, list and retry alerts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from monitor import views
from monitor.cli.common import console, group, open_app
from monitor.errors import ConfigError
from monitor.lazy import lazy_function, lazy_module

if TYPE_CHECKING:
    from monitor import notify
    from monitor.models import utcnow
    from monitor.outbox import deliver_due
else:
    notify = lazy_module("monitor.notify")
    utcnow = lazy_function("monitor.models", "utcnow")
    deliver_due = lazy_function("monitor.outbox", "deliver_due")

app = group("Test destinations, list and retry alerts.")


@app.command("test")
def alerts_test(ctx: typer.Context) -> None:
    """Send a test message to every destination and report each result."""
    with open_app(ctx) as application:
        outbox = application.outbox
        if not outbox.destinations:
            raise ConfigError(
                "config: alerts: no alert destinations configured (alerts.urls or "
                "[[alerts.destinations]])"
            )
        message = outbox.renderer.test()
        results = [notify.send(d, message) for d in outbox.destinations.values()]
    console.print(views.send_results_table(results))
    if not all(r.ok for r in results):
        raise typer.Exit(1)


@app.command("list")
def alerts_list(
    ctx: typer.Context,
    status: Annotated[
        views.AlertStatus | None, typer.Option(help="Only alerts in this state.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many alerts.")] = 50,
) -> None:
    """List alerts in the outbox, newest first."""
    with open_app(ctx) as application:
        rows = application.store.list_alerts(status=status.value if status else None, limit=limit)
        items = application.store.alert_items(rows)
        known = application.outbox.known
        console.print(views.alerts_table(rows, destinations=known, items=items))


@app.command("retry")
def alerts_retry(
    ctx: typer.Context,
    alert_id: Annotated[
        int | None, typer.Argument(help="One alert; default: every failed one.")
    ] = None,
) -> None:
    """Queue failed alerts (or one alert) for delivery again, now."""
    with open_app(ctx) as application:
        count = application.store.retry_alerts(alert_id=alert_id, now=utcnow())
        delivery = deliver_due(application.outbox) if count else None
    console.print(f"queued {count} alert(s) again")
    if delivery is not None:
        console.print(views.delivery_line(delivery), highlight=False)
