"""Labelled examples: the seed articles on disk and the user's judgements."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SEED_GLOB = "*.txt"
TITLE_MIN_WORDS = 4
TITLE_SEARCH_LINES = 5


@dataclass(frozen=True, slots=True)
class Example:
    title: str
    text: str
    label: bool
    source: str


def read_seeds(seeds_dir: Path) -> list[Example]:
    """Every ``*.txt`` in ``seeds_dir`` as a positive example, in file-name order."""
    if not seeds_dir.is_dir():
        return []
    return [_seed(path) for path in sorted(seeds_dir.glob(SEED_GLOB)) if path.is_file()]


def _seed(path: Path) -> Example:
    raw = path.read_text(encoding="utf-8", errors="replace")
    title = seed_title(raw)
    return Example(title=title, text=raw, label=True, source=f"seed:{path.name}")


def seed_title(raw: str) -> str:
    """The first of the opening lines that reads like a headline (site chrome is shorter)."""
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    for line in lines[:TITLE_SEARCH_LINES]:
        if len(line.split()) >= TITLE_MIN_WORDS:
            return line
    return lines[0] if lines else ""
