"""The results table, printed with rich."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from bench.common import Row, cores

MIN_WIDTH = 150


def number(value: float, unit: str) -> str:
    if unit in ("×", "ms"):
        return f"{value:.2f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3f}"


def verdict(row: Row) -> str:
    if row.holds is None:
        return ""
    return "[green]yes[/green]" if row.holds else "[red]no[/red]"


def print_table(
    rows: Sequence[Row], *, elapsed: float, loads: tuple[float, float], command: str
) -> None:
    console = Console()
    if not console.is_terminal or console.width < MIN_WIDTH:
        console = Console(width=MIN_WIDTH)
    runs = sorted({len(r.value.values) for r in rows})
    table = Table(
        title=f"monitor benchmark ({command}; {cores()} cores; median of "
        f"{'/'.join(map(str, runs))} runs)",
        title_justify="left",
    )
    for name, justify in (
        ("Section", "left"),
        ("Figure", "left"),
        ("Median", "right"),
        ("Min", "right"),
        ("Max", "right"),
        ("Unit", "left"),
        ("Goal", "left"),
        ("Holds", "center"),
        ("Notes", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    section = ""
    for row in rows:
        table.add_row(
            row.section if row.section != section else "",
            row.figure,
            number(row.value.median, row.unit),
            number(row.value.low, row.unit),
            number(row.value.high, row.unit),
            row.unit,
            row.goal,
            verdict(row),
            row.note,
        )
        section = row.section
    console.print(table)
    console.print(
        f"{elapsed:.0f} s in all; 1-minute load average {loads[0]:.2f} at start, "
        f"{loads[1]:.2f} at end (other work on the machine inflates wall times).",
        highlight=False,
    )
