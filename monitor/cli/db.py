"""`monitor db …`: the database schema, its status and migrations."""

from __future__ import annotations

import typer

from monitor.cli.common import State, console, errors, group

app = group("Database schema: status and migrations.")


@app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply pending schema migrations (the daemon refuses to start on an older schema)."""
    from monitor.settings import mask_url
    from monitor.store import Store

    state: State = ctx.obj
    with errors():
        settings = state.settings()
        store = Store(url=settings.storage.url)
        try:
            before, after = store.upgrade_schema()
        finally:
            store.close()
    where = mask_url(settings.storage.url)
    if before == after:
        console.print(f"{where}: schema already at revision {after}", highlight=False)
    else:
        console.print(
            f"{where}: schema upgraded from {before or 'empty'} to {after}", highlight=False
        )


@app.command("status")
def db_status(ctx: typer.Context) -> None:
    """Show the schema revision of the database and the one this version needs."""
    from monitor.store import Store

    state: State = ctx.obj
    with errors():
        store = Store(url=state.settings().storage.url)
        try:
            schema = store.schema_state()
        finally:
            store.close()
    verdict = "up to date" if not schema.behind else "behind: run `monitor db upgrade`"
    console.print(f"schema revision {schema.current or 'none'}, needed {schema.head}: {verdict}")
