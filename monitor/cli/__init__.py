"""The ``monitor`` command: presenting and wiring only; the work happens in the stages.

One module per command group (model: Miniflux ``internal/cli/``): ``daemon`` (run, worker,
poll, status, serve), ``classifier`` (score, label, train, rescore, eval), ``feeds``,
``matches``, ``alerts``, ``db``, ``config``; ``common`` holds the console, the settings state,
error translation and the shared option aliases. Heavy libraries are imported when a command
uses them (``monitor.lazy``): ``monitor --help`` stays fast (tests/test_startup.py).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from monitor import __version__
from monitor.cli import alerts, classifier, config, daemon, db, feeds, matches
from monitor.cli.common import State, console
from monitor.masking import install_masking_filter

NOISY_LOGGERS = (
    "httpx",
    "httpcore",
    "apscheduler",
    "apprise",
    "trafilatura",
    "htmldate",
    "courlan",
    "alembic",
    "procrastinate",
)

app = typer.Typer(
    help="Watch news feeds and flag articles about Pakistan–Russia relations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(feeds.app, name="feeds")
app.add_typer(matches.app, name="matches")
app.add_typer(config.app, name="config")
app.add_typer(db.app, name="db")
app.add_typer(alerts.app, name="alerts")
for command in (daemon.run, daemon.worker, daemon.poll, daemon.status):
    app.command()(command)
for command in (classifier.score, classifier.label, classifier.train, classifier.rescore):
    app.command()(command)
app.command("eval")(classifier.eval_command)
app.command()(daemon.serve)


def _version(value: bool) -> None:
    if value:
        console.print(f"monitor {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="Config file [default: $MONITOR_CONFIG or config/monitor.toml]"
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug details.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(message)s",
        stream=sys.stderr,
    )
    install_masking_filter()  # no secret in any log line, at any verbosity
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
    # one warning per failed connection while the database is away: the worker says it once
    logging.getLogger("psycopg.pool").setLevel(logging.DEBUG if verbose else logging.ERROR)
    ctx.obj = State(config=config)


def main() -> None:
    app(prog_name="monitor")
