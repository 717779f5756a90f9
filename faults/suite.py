"""``make faults``: every fault case, with pass/fail and figures; JSON in faults/results.json.

    .venv/bin/python -m faults [--reduced] [--only GROUP ...] [--database-url URL]

Each group module exposes ``run(*, reduced: bool, database_url: str | None, workdir: Path,
progress: Progress) -> list[Case]``. ``--reduced`` is the size CI runs (via tests/test_faults.py).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from faults.common import Case, print_table, progress_printer

GROUPS = {  # group name -> module in faults/
    "hostile": "faults.hostile",
    "fuzzing": "faults.fuzzing",
    "crashes": "faults.crashes",
    "outages": "faults.outages",
    "load": "faults.load",
    "scale-out": "faults.scaleout",
}
RESULTS = Path(__file__).resolve().parent / "results.json"


def run_groups(
    *, groups: Sequence[str], reduced: bool, database_url: str | None, workdir: Path
) -> list[Case]:
    progress = progress_printer()
    cases: list[Case] = []
    for name in groups:
        module = importlib.import_module(GROUPS[name])
        group_dir = workdir / name
        group_dir.mkdir(parents=True, exist_ok=True)
        progress(f"{name}: starting")
        cases += module.run(
            reduced=reduced, database_url=database_url, workdir=group_dir, progress=progress
        )
    return cases


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m faults", description=__doc__.splitlines()[0])
    parser.add_argument("--reduced", action="store_true", help="CI's smaller size")
    parser.add_argument("--only", nargs="+", choices=list(GROUPS), default=list(GROUPS))
    parser.add_argument(
        "--database-url",
        default=os.environ.get("MONITOR_TEST_DATABASE_URL") or None,
        help="PostgreSQL server for the cases that use a database (default: SQLite files)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="monitor-faults-") as tmp:
        cases = run_groups(
            groups=args.only,
            reduced=args.reduced,
            database_url=args.database_url,
            workdir=Path(tmp),
        )
    print_table(cases)
    args.out.write_text(
        json.dumps([c.as_json() for c in cases], indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    print(f"results written to {args.out}")
    sys.exit(0 if all(c.passed for c in cases) else 1)
