"""Commands start fast: each imports only the libraries it uses (issue 17).

Each case runs the real command in a fresh interpreter and reads back which modules it
imported; start-up times themselves are measured by ``python -m bench.startup``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from monitor.settings import _resolve_sqlite_url, mask_url
from tests.conftest import REPO

# The heavy libraries, each ~0.05–0.5 s to import.
HEAVY = {
    "alembic",
    "apprise",
    "apscheduler",
    "feedparser",
    "httpx",
    "jinja2",
    "lxml",
    "numpy",
    "pydantic_settings",
    "scipy",
    "sklearn",
    "sqlalchemy",
    "sqlmodel",
    "starlette",
    "trafilatura",
}
# What reading the settings and the database needs; everything else stays out.
STORE = {"pydantic_settings", "sqlalchemy", "sqlmodel"}

RUN_AND_LIST = """
import json, sys
import monitor.cli
code, args = 0, json.loads(sys.argv[1])
if args:  # no arguments: only the import
    sys.argv = ["monitor", *args]
    try:
        monitor.cli.main()
    except SystemExit as exc:
        code = exc.code
with open({out!r}, "w") as f:
    json.dump({{"exit": code, "modules": sorted(sys.modules)}}, f)
"""


def imported_by(args: list[str], *, tmp_path: Path) -> set[str]:
    """The top-level packages a real ``monitor`` process imported to run ``args``."""
    out = tmp_path / "modules.json"
    config = tmp_path / "monitor.toml"
    config.write_text('[[feeds]]\nname = "one"\nurl = "http://127.0.0.1:9/feed"\n', "utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "MONITOR_CONFIG": str(config)}
    env["MONITOR_STORAGE_URL"] = f"sqlite:///{tmp_path / 'monitor.db'}"
    code = RUN_AND_LIST.format(out=str(out))
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["exit"] in (0, None), done.stderr
    return {name.split(".")[0] for name in result["modules"]}


@pytest.mark.parametrize(
    ("args", "allowed"),
    [
        ([], set()),  # the bare import, as the test of `import monitor.cli` asks
        (["--help"], set()),
        (["feeds", "--help"], set()),
        (["config", "show"], {"pydantic_settings"}),
        (["status"], STORE),
        (["feeds", "list"], STORE),
        (["db", "status"], STORE),
        (["matches", "list"], STORE),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_a_command_imports_only_what_it_uses(
    args: list[str], allowed: set[str], tmp_path: Path
) -> None:
    assert "alembic" in imported_by(["db", "upgrade"], tmp_path=tmp_path)  # a database exists
    assert imported_by(args, tmp_path=tmp_path) & HEAVY == allowed


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///data/monitor.db",
        "sqlite://",
        "sqlite:////tmp/x.db?mode=ro",
        "postgresql+psycopg://me:hunter2@db/monitor",
        "postgresql+psycopg://monitor:p%40ss@127.0.0.1:5432/monitor?sslmode=require",
        "mysql://u@[::1]:3306/x",
        "postgresql://:secret@host/db",
    ],
)
def test_database_urls_are_masked_as_sqlalchemy_masks_them(url: str) -> None:
    assert mask_url(url) == make_url(url).render_as_string(hide_password=True)


@pytest.mark.parametrize(
    ("url", "resolved"),
    [
        ("sqlite:///data/monitor.db", "sqlite:////base/data/monitor.db"),
        ("sqlite+pysqlite:///rel/x.db?timeout=3", "sqlite+pysqlite:////base/rel/x.db?timeout=3"),
        ("sqlite:////abs/x.db", "sqlite:////abs/x.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("sqlite://", "sqlite://"),
        ("sqlite:///file:x.db?mode=ro&uri=true", "sqlite:///file:x.db?mode=ro&uri=true"),
        ("postgresql+psycopg://me:pw@db/rel", "postgresql+psycopg://me:pw@db/rel"),
        ("not a url", "not a url"),
    ],
)
def test_a_relative_sqlite_file_resolves_against_the_config_folder(url: str, resolved: str) -> None:
    assert _resolve_sqlite_url(url, base=Path("/base")) == resolved
