"""What every fault case returns, and the table ``make faults`` prints."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Case:
    """One case of the suite: what it proves, whether it held, and the figures it measured."""

    group: str  # "hostile feeds", "hostile articles", "hostile output", "fuzzing", "crashes", …
    name: str  # e.g. "gzip bomb"
    proves: str  # one sentence: what holding this case shows
    passed: bool
    figures: dict[str, Any] = field(default_factory=dict)  # e.g. {"runs": 50, "duplicates": 0}
    detail: str = ""  # why it failed, or the clear error the feed row showed

    def as_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "name": self.name,
            "proves": self.proves,
            "passed": self.passed,
            "figures": self.figures,
            "detail": self.detail,
        }


def progress_printer() -> Progress:
    started = time.perf_counter()

    def say(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    return say


def format_figures(figures: dict[str, Any]) -> str:
    parts = []
    for key, value in figures.items():
        shown = f"{value:.1f}" if isinstance(value, float) else str(value)
        parts.append(f"{key} {shown}")
    return ", ".join(parts)


def print_table(cases: Sequence[Case]) -> None:
    width = max((len(c.name) for c in cases), default=4)
    group = ""
    for case in cases:
        if case.group != group:
            group = case.group
            print(f"\n{group}")
        mark = "pass" if case.passed else "FAIL"
        line = f"  {mark}  {case.name:<{width}}  {format_figures(case.figures)}"
        print(line.rstrip())
        if case.detail and not case.passed:
            print(f"        {case.detail}")
    failed = sum(not c.passed for c in cases)
    print(f"\n{len(cases)} cases, {len(cases) - failed} passed, {failed} failed")
