"""Stages never import each other; only the pipeline chains them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "monitor"
STAGES = {"fetch", "feeds", "extract", "classify", "stories", "store", "notify"}


def monitor_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "monitor":
                names |= {alias.name for alias in node.names}
            elif node.module.startswith("monitor."):
                names.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            names |= {a.name.split(".")[1] for a in node.names if a.name.startswith("monitor.")}
    return names


def stage_files() -> list[tuple[str, Path]]:
    files = []
    for stage in sorted(STAGES):
        single = PACKAGE / f"{stage}.py"
        package = PACKAGE / stage
        files += (
            [(stage, single)] if single.exists() else [(stage, p) for p in package.rglob("*.py")]
        )
    return files


@pytest.mark.parametrize(
    ("stage", "path"), stage_files(), ids=lambda v: str(v).split("monitor/")[-1]
)
def test_stage_imports_no_other_stage(stage: str, path: Path) -> None:
    assert not (monitor_imports(path) & (STAGES - {stage})), f"{path} imports another stage"


def test_classifier_is_self_contained() -> None:
    for path in (PACKAGE / "classify").rglob("*.py"):
        assert monitor_imports(path) <= {"classify"}, path
