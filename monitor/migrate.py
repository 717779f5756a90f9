"""Schema migrations (Alembic) for SQLite and PostgreSQL: where the schema is, and upgrading it.

Reading the schema state needs no Alembic (every command checks it, and importing Alembic costs
~0.2 s): the head is read from the migration files, the current revision from
``alembic_version`` with plain SQL. Alembic itself is imported only to upgrade or downgrade.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from monitor.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"
_REVISION = re.compile(r"^revision\s*(?::\s*str\s*)?=\s*['\"](?P<id>[^'\"]+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]+)?=\s*(?P<value>.+)$", re.M)
_QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")


@dataclass(frozen=True, slots=True)
class SchemaState:
    current: str | None  # None: never migrated
    head: str
    empty: bool  # no tables at all: a new database

    @property
    def behind(self) -> bool:
        return self.current != self.head


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The one revision no other migration revises (what ``alembic heads`` prints)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found is None:
            continue
        revisions.add(found["id"])
        down = _DOWN.search(source)
        if down is not None:
            revised.update(_QUOTED.findall(down["value"]))
    heads = sorted(revisions - revised)
    if len(heads) != 1:
        raise StoreError(f"store: expected one head migration, found {heads or 'none'}")
    return heads[0]


def schema_state(engine: Engine) -> SchemaState:
    with engine.connect() as conn:
        tables = inspect(conn).get_table_names()
        current = None
        if VERSION_TABLE in tables:
            rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
            current = next(iter(sorted(rows)), None)
    return SchemaState(current=current, head=head_revision(), empty=not tables)


def upgrade(engine: Engine, *, revision: str = "head") -> None:
    from alembic import command

    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def downgrade(engine: Engine, *, revision: str) -> None:
    from alembic import command

    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
