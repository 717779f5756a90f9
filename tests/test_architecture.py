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


CLI = PACKAGE / "cli"
CLI_GROUPS = sorted(p for p in CLI.glob("*.py") if p.name not in {"__init__.py", "common.py"})


def cli_imports(path: Path) -> set[str]:
    """The ``monitor.cli`` modules a file imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.module.removeprefix("monitor.cli.")
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("monitor.cli.")
    }


@pytest.mark.parametrize("path", CLI_GROUPS, ids=lambda p: p.name)
def test_a_cli_group_imports_only_the_common_module(path: Path) -> None:
    assert cli_imports(path) <= {"common"}, f"{path.name} imports another command group"


@pytest.mark.parametrize("path", sorted(CLI.glob("*.py")), ids=lambda p: p.name)
def test_a_cli_module_stays_small(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 400


# The store is one stage cut by table (Miniflux internal/storage/): the handle in __init__ mixes
# the table modules into one Store; a table module may lean on the shared helpers only, never on
# the handle nor on another table module (that is how store <-> outbox_store became a cycle).
STORE_HELPERS = {"rows", "queue"}
STORE_MODULES = sorted(p.stem for p in (PACKAGE / "store").glob("*.py") if p.stem != "__init__")


def store_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "monitor.store":
            names.add("__init__")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("monitor.store."):
            names.add((node.module or "").split(".")[2])
    return names


@pytest.mark.parametrize("module", STORE_MODULES)
def test_store_module_imports_only_helpers(module: str) -> None:
    allowed = STORE_HELPERS - {module, "queue" if module == "rows" else ""}
    found = store_imports(PACKAGE / "store" / f"{module}.py")
    assert found <= allowed, f"monitor/store/{module}.py imports {sorted(found - allowed)}"


def test_store_table_modules_are_present() -> None:
    expected = {"feeds", "articles", "matches", "alerts", "sessions", "judgements", "queue"}
    assert expected <= set(STORE_MODULES)
