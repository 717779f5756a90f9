"""The fault suite at CI's reduced size: every case of every group must hold.

``make faults`` (``python -m faults``) runs the full size and prints the table. Each group runs
once per session; a group module that offers ``case_names(reduced=True)`` gets one test per case,
the others one test for the whole group. Adding a group is one line in ``GROUP``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType

import pytest

from faults import crashes, fuzzing, hostile, load, outages, scaleout
from faults.common import Case, format_figures
from tests.conftest import TEST_DATABASE_URL

GROUP: dict[str, ModuleType] = {
    "crashes": crashes,
    "outages": outages,
    "load": load,
    "hostile": hostile,
    "fuzzing": fuzzing,
    "scale-out": scaleout,
}
WHOLE_GROUP = "every case"

RunGroup = Callable[[str], list[Case]]


def _described(case: Case) -> str:
    return f"{case.group} / {case.name}: {case.detail} ({format_figures(case.figures)})"


def _params() -> Iterator[object]:
    for group, module in sorted(GROUP.items()):
        names = getattr(module, "case_names", None)
        for name in names(reduced=True) if names else [WHOLE_GROUP]:
            yield pytest.param(group, name, id=f"{group}/{name}")


@pytest.fixture(scope="module")
def run_group(tmp_path_factory: pytest.TempPathFactory) -> RunGroup:
    """Each group's cases, run at the reduced size the first time they are asked for."""
    done: dict[str, list[Case]] = {}

    def cases(group: str) -> list[Case]:
        if group not in done:
            done[group] = GROUP[group].run(
                reduced=True,
                database_url=TEST_DATABASE_URL,
                workdir=tmp_path_factory.mktemp(group),
                progress=lambda _m: None,
            )
        return done[group]

    return cases


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize(("group", "name"), list(_params()))
def test_fault_case_holds(group: str, name: str, run_group: RunGroup) -> None:
    cases = run_group(group)
    assert cases, f"group {group} returned no cases"
    if name == WHOLE_GROUP:
        failed = [_described(c) for c in cases if not c.passed]
        assert not failed, "\n".join(failed)
        return
    matching = [c for c in cases if c.name == name]
    assert matching, f"group {group} returned no case named {name!r}"
    assert all(c.passed for c in matching), "\n".join(_described(c) for c in matching)
