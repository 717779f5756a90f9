"""`monitor config …`: inspect the configuration."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import typer

from monitor.cli.common import State, errors, group
from monitor.lazy import lazy_function

if TYPE_CHECKING:
    from monitor.settings import public_view
else:
    public_view = lazy_function("monitor.settings", "public_view")

app = group("Inspect the configuration.")


@app.command("show")
def config_show(ctx: typer.Context) -> None:
    """Print the effective settings (file + environment), secrets masked."""
    state: State = ctx.obj
    with errors():
        settings = state.settings()
    sys.stdout.write(json.dumps(public_view(settings), indent=2) + "\n")
