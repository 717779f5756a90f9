"""What every command group shares: the console, the settings state, the application context,
error translation (one line and an exit code) and the option aliases defined once."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from monitor import views
from monitor.errors import ConfigError, MonitorError
from monitor.lazy import lazy_function
from monitor.masking import mask_secrets

if TYPE_CHECKING:
    from monitor.app import App, build_app
    from monitor.settings import Settings, load_settings
else:  # imported when a command uses them: `monitor --help` stays fast (tests/test_startup.py)
    build_app = lazy_function("monitor.app", "build_app")
    load_settings = lazy_function("monitor.settings", "load_settings")

console = views.terminal()
log = logging.getLogger("monitor")

# -- option aliases, defined once ------------------------------------------------------------
Since = Annotated[str | None, typer.Option(help="Only matches since this date (YYYY-MM-DD).")]
Format = Annotated[views.Format, typer.Option("--format", help="Output format.")]
ExportFormat = Annotated[views.ExportFormat, typer.Option("--format", help="Output format.")]


def group(help: str) -> typer.Typer:
    """A command group (`monitor feeds …`): bare, it prints its help."""
    return typer.Typer(help=help, no_args_is_help=True)


@dataclass
class State:
    config: Path | None
    _settings: Settings | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config)
        return self._settings


@contextmanager
def open_app(ctx: typer.Context) -> Iterator[App]:
    """The application of the settings, closed on the way out; errors become one line."""
    state: State = ctx.obj
    with errors():
        application = build_app(state.settings())
    try:
        with errors():
            yield application
    finally:
        application.close()


@contextmanager
def errors() -> Iterator[None]:
    """Turn the monitor's own errors into one clear line and an exit code (2 for config)."""
    try:
        yield
    except ConfigError as exc:
        error(str(exc))
        raise typer.Exit(2) from None
    except MonitorError as exc:
        error(str(exc), hint=exc.hint)
        raise typer.Exit(1) from None


def error(message: str, *, hint: str = "") -> None:
    print(f"error: {mask_secrets(message)}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)
