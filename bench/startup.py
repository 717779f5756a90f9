"""Start-up times of the commands people wait for, each in a fresh ``monitor`` process.

    .venv/bin/python -m bench.startup [--runs N]     (prints a table; the last line is JSON)

``--help``; ``status`` on a database of one polled feed; ``poll --once`` of one feed with one
new corpus page (a fresh copy of an unpolled database each run, the classifier already cached:
what an operator's first command after ``monitor train`` costs). Wall time and CPU time (the
command and the extraction workers it starts), median, min and max.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import server
from bench.common import REPO_ROOT, SEEDS_DIR, SUBPROCESS_TIMEOUT, Stat, corpus_dir, stat
from tests import support

RUNS = 5
GOALS = {"--help": 0.35, "status": 0.6, "poll --once": 1.5}  # seconds, median wall (issue 17)


@dataclass(frozen=True, slots=True)
class Timing:
    command: str
    wall: Stat
    cpu: Stat

    def as_json(self) -> dict[str, Any]:
        goal = GOALS.get(self.command)
        return {
            "command": self.command,
            "wall_seconds": self.wall.as_json(),
            "cpu_seconds": self.cpu.as_json(),
            "goal_seconds": goal,
            "holds": None if goal is None else self.wall.median <= goal,
        }


@dataclass(frozen=True, slots=True)
class Workspace:
    root: Path
    config: Path
    db: Path
    fresh: Path  # an upgraded database no feed has been polled into


def monitor(ws: Workspace, *args: str) -> tuple[float, float]:
    """Run ``monitor args`` in a fresh interpreter: (wall seconds, CPU seconds of it and its
    children). Fails loudly if the command fails."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "MONITOR_CONFIG": str(ws.config)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=ws.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"monitor {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def prepare(root: Path, *, feed_url: str) -> Workspace:
    """A config on ``root``, an upgraded empty database (kept as ``fresh``), the model cached,
    then one poll so that ``status`` has a feed row with history to show."""
    db, fresh = root / "monitor.db", root / "fresh.db"
    config = support.write_config(
        root / "monitor.toml",
        storage=f"sqlite:///{db}",
        seeds=SEEDS_DIR,
        fetch={"allow_private_networks": True},
        feeds={"one": feed_url},
    )
    ws = Workspace(root=root, config=config, db=db, fresh=fresh)
    monitor(ws, "db", "upgrade")
    shutil.copyfile(db, fresh)
    monitor(ws, "train")  # the classifier cached, as after `monitor train`
    monitor(ws, "poll", "--once")
    return ws


def repeat(runs: int, step: Callable[[], tuple[float, float]]) -> tuple[Stat, Stat]:
    results = [step() for _ in range(runs)]
    return stat([w for w, _ in results]), stat([c for _, c in results])


def measure(ws: Workspace, *, runs: int) -> list[Timing]:
    def one_page_poll() -> tuple[float, float]:
        shutil.copyfile(ws.fresh, ws.db)
        return monitor(ws, "poll", "--once")

    cases: list[tuple[str, Callable[[], tuple[float, float]]]] = [
        ("--help", lambda: monitor(ws, "--help")),
        ("status", lambda: monitor(ws, "status")),
        ("poll --once", one_page_poll),
    ]
    return [Timing(name, *repeat(runs, step)) for name, step in cases]


def run_startup(*, corpus: Path, runs: int = RUNS) -> list[Timing]:
    with server.running(corpus) as base, tempfile.TemporaryDirectory() as tmp:
        ws = prepare(Path(tmp), feed_url=f"{base}/one/0.xml")
        return measure(ws, runs=runs)


def render(timings: Sequence[Timing]) -> str:
    lines = [f"{'command':<14}{'wall median/min/max s':>26}{'CPU median s':>15}{'goal':>8}"]
    for t in timings:
        goal = GOALS.get(t.command)
        verdict = "" if goal is None else f"{goal:.2f} {'yes' if t.wall.median <= goal else 'no'}"
        lines.append(
            f"{t.command:<14}"
            f"{t.wall.median:>12.3f}/{t.wall.low:.3f}/{t.wall.high:.3f}"
            f"{t.cpu.median:>15.3f}{verdict:>12}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__)
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args(argv)
    timings = run_startup(corpus=corpus_dir(), runs=args.runs)
    print(render(timings), file=sys.stderr)
    print(json.dumps([t.as_json() for t in timings]))


if __name__ == "__main__":
    main()
