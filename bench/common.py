"""What every benchmark section shares: paths, run statistics, CPU clocks of processes, settings."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.settings import (
    ClassifierSettings,
    FeedSpec,
    FetchSettings,
    Settings,
    StorageSettings,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = REPO_ROOT / "seed_articles"
CLK_TCK = os.sysconf("SC_CLK_TCK")
SUBPROCESS_TIMEOUT = 300.0


def corpus_dir() -> Path:
    """$MONITOR_CORPUS, else ../shared/corpus next to the repository."""
    return Path(os.environ.get("MONITOR_CORPUS", REPO_ROOT.parent / "shared" / "corpus"))


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class Stat:
    """Median, min and max of a figure measured once per run."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    def as_json(self) -> dict[str, Any]:
        return {
            "median": self.median,
            "min": self.low,
            "max": self.high,
            "runs": list(self.values),
        }


def stat(values: Sequence[float]) -> Stat:
    if not values:
        raise ValueError("no measurements")
    return Stat(tuple(float(v) for v in values))


@dataclass
class Row:
    """One line of the results table."""

    section: str
    figure: str
    unit: str
    value: Stat
    goal: str = ""
    holds: bool | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "figure": self.figure,
            "unit": self.unit,
            **self.value.as_json(),
            "goal": self.goal or None,
            "holds": self.holds,
            "note": self.note or None,
            **self.extra,
        }


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used so far (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def system_busy_seconds() -> float:
    """CPU seconds every core of the machine has spent busy since boot (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / CLK_TCK


def own_child(marker: bytes) -> int | None:
    """The pid of this process's child whose command line contains ``marker``."""
    for pid in child_pids(os.getpid()):
        try:
            if marker in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
        except OSError:
            continue
    return None


def proc_status_mb(pid: int, key: str) -> float:
    """A memory line of /proc/<pid>/status (VmHWM = peak resident, VmRSS = now), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def child_pids(pid: int) -> list[int]:
    """Direct children of a live process (every thread's children)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return sorted(set(found))


def run_json(module: str, *args: str) -> Any:
    """Run ``python -m module args`` in a fresh interpreter; its last stdout line is JSON."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_settings(
    *, db: Path, model_cache: Path, feeds: Sequence[tuple[str, str]] = ()
) -> Settings:
    """The shipped defaults (workers, entry workers, extraction processes), on a bench database,
    with loopback allowed because the bench server is on 127.0.0.1."""
    return Settings(
        storage=StorageSettings(url=f"sqlite:///{db}"),
        classifier=ClassifierSettings(seeds=SEEDS_DIR, cache_dir=model_cache),
        fetch=FetchSettings(allow_private_networks=True),
        feeds=[FeedSpec(name=name, url=url) for name, url in feeds],
    )


def load_average() -> float:
    return os.getloadavg()[0]
