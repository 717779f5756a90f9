"""`monitor matches …`: review stored matches."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from monitor import views
from monitor.cli.common import ExportFormat, Format, Since, console, error, errors, group, open_app

app = group("Review stored matches.")


@app.command("list")
def matches_list(
    ctx: typer.Context,
    since: Since = None,
    min_score: Annotated[
        float | None, typer.Option(help="Only matches scoring at least this.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many matches.")] = 50,
    format: Format = views.Format.table,
    copies: Annotated[
        bool, typer.Option("--copies", help="One row per matching copy, not per story.")
    ] = False,
) -> None:
    """List matches, newest first, one row per story (with where else it appeared)."""
    with open_app(ctx) as application:
        rows = application.store.matches(
            since=views.parse_date(since), min_score=min_score, limit=limit, copies=copies
        )
        story_copies = application.store.story_copies(
            {r.article.story_id for r in rows if r.article.story_id is not None}
        )
    views.print_matches(rows, fmt=format, console=console, copies=story_copies)


@app.command("export")
def matches_export(
    ctx: typer.Context,
    since: Since = None,
    format: ExportFormat = views.ExportFormat.csv,
) -> None:
    """Export matches (with judgements and reasons) for a report, newest first."""
    from monitor.export import export_matches

    with open_app(ctx) as application:
        rows = application.store.matches_since(since=views.parse_date(since))
    with errors():
        export_matches(rows, fmt=format.value, out=sys.stdout)


@app.command("show")
def matches_show(ctx: typer.Context, article_id: int) -> None:
    """Show one article in full, with its score and reasons (ID as listed by `matches list`)."""
    with open_app(ctx) as application:
        found = application.store.article(article_id)
    if found is None:
        error(f"no article with id {article_id}")
        raise typer.Exit(1)
    views.print_article(*found, console=console)
