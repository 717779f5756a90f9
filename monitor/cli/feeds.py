"""`monitor feeds …`: list, add, remove, import and export feeds."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from monitor import views
from monitor.cli.common import console, error, errors, group, open_app
from monitor.errors import MonitorError
from monitor.lazy import lazy_function, lazy_module

if TYPE_CHECKING:
    from monitor import opml
    from monitor.settings import config_path, new_feed_spec
else:
    opml = lazy_module("monitor.opml")
    config_path = lazy_function("monitor.settings", "config_path")
    new_feed_spec = lazy_function("monitor.settings", "new_feed_spec")

app = group("List, add, remove, import and export feeds.")


@app.command("list")
def feeds_list(ctx: typer.Context) -> None:
    """List the feeds being watched."""
    with open_app(ctx) as application:
        console.print(views.feeds_table(application.store.feeds()))


@app.command("add")
def feeds_add(
    ctx: typer.Context,
    url: str,
    name: Annotated[str | None, typer.Option(help="Display name [default: the host name].")] = None,
    interval: Annotated[str, typer.Option(help="Poll interval, e.g. 15m.")] = "15m",
    check: Annotated[
        bool, typer.Option("--check/--no-check", help="Fetch the URL first: it must be a feed.")
    ] = True,
) -> None:
    """Add a feed (stored in the database beside the config file's feeds)."""
    from monitor.pipeline import check_feed

    with errors():
        spec = new_feed_spec(url=url, name=name, interval=interval)
    with open_app(ctx) as application:
        if check:
            found = check_feed(url=spec.url, fetcher=application.fetcher)
            console.print(f"{spec.url}: a feed with {len(found.entries)} entries", highlight=False)
        application.store.add_feed(
            name=spec.name, url=spec.url, interval_seconds=int(spec.interval)
        )
    console.print(f"added feed {spec.name!r}: {spec.url} every {interval}")


@app.command("remove")
def feeds_remove(ctx: typer.Context, name: str) -> None:
    """Stop watching a feed added with `feeds add` (its articles stay stored)."""
    with open_app(ctx) as application:
        feed = application.store.feed_named(name)
        if feed is not None and feed.enabled and feed.origin == "config":
            error(
                f"feeds remove: {name!r} comes from the config file "
                f"{config_path(ctx.obj.config)[0]}: delete its [[feeds]] entry there",
                hint="config feeds are not removed from the command line; it is still watched",
            )
            raise typer.Exit(1)
        if application.store.remove_feed(name=name) is None:
            error(f"no feed named {name!r}", hint="`monitor feeds list` shows the feeds watched")
            raise typer.Exit(1)
    console.print(f"removed feed {name!r} (its articles stay; `feeds add` watches it again)")


@app.command("import-opml")
def feeds_import_opml(
    ctx: typer.Context,
    file: Path,
    interval: Annotated[str, typer.Option(help="Poll interval for the imported feeds.")] = "15m",
) -> None:
    """Add every feed listed in an OPML file; entries already watched or unusable are skipped."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        error(f"feeds import-opml: cannot read {file}: {exc.strerror or exc}")
        raise typer.Exit(2) from None
    with open_app(ctx) as application:
        entries = opml.read_opml(data)
        known = {f.url for f in application.store.feeds(enabled_only=False)}
        added, skipped = 0, []
        for name, url in entries:
            if url in known:
                continue
            try:
                spec = new_feed_spec(url=url, name=name, interval=interval, command="skipped")
                application.store.add_feed(
                    name=spec.name, url=spec.url, interval_seconds=int(spec.interval)
                )
            except MonitorError as exc:
                skipped.append(str(exc))
                continue
            known.add(url)
            added += 1
    for reason in skipped:
        console.print(reason, highlight=False)
    present = len(entries) - added - len(skipped)
    console.print(
        f"imported {added} feeds from {file}: {present} already watched, {len(skipped)} skipped",
        highlight=False,
    )


@app.command("export-opml")
def feeds_export_opml(ctx: typer.Context) -> None:
    """Print every watched feed as OPML."""
    with open_app(ctx) as application:
        sys.stdout.write(opml.write_opml([(f.name, f.url) for f in application.store.feeds()]))
