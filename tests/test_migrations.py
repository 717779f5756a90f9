"""Migrations own the schema: they match the models, and an older schema stops the daemon."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel
from typer.testing import CliRunner

from monitor import migrate
from monitor.cli import app
from monitor.store import Store
from tests.conftest import database_url, query

runner = CliRunner()


def test_migrations_build_exactly_the_models_schema(tmp_path: Path) -> None:
    store = Store(url=database_url(tmp_path))
    store.prepare_schema()
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    store.close()
    # the full-text index (0002) and the job queue (0006) are deliberately not in the metadata
    outside = ("article_fts", "procrastinate")
    assert [d for d in diff if not any(name in repr(d) for name in outside)] == []


def test_down_and_up_again(tmp_path: Path) -> None:
    store = Store(url=database_url(tmp_path))
    store.prepare_schema()
    migrate.downgrade(store.engine, revision="base")
    assert migrate.schema_state(store.engine).current is None
    migrate.upgrade(store.engine)
    assert not migrate.schema_state(store.engine).behind
    store.close()


def config(tmp_path: Path) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(f'[storage]\nurl = "{database_url(tmp_path)}"\n', encoding="utf-8")
    return path


def test_a_schema_behind_is_refused_until_db_upgrade(tmp_path: Path) -> None:
    url = database_url(tmp_path)
    store = Store(url=url)
    migrate.upgrade(store.engine, revision="0001")
    store.close()

    refused = runner.invoke(app, ["--config", str(config(tmp_path)), "run"])
    status = runner.invoke(app, ["--config", str(config(tmp_path)), "db", "status"])
    upgraded = runner.invoke(app, ["--config", str(config(tmp_path)), "db", "upgrade"])
    again = runner.invoke(app, ["--config", str(config(tmp_path)), "db", "upgrade"])

    assert refused.exit_code == 1
    assert "schema is at revision 0001" in refused.output and "monitor db upgrade" in refused.output
    assert "behind" in status.output
    assert upgraded.exit_code == 0 and "upgraded from 0001 to" in upgraded.output
    assert "already at revision" in again.output
    assert query(url, "SELECT version_num FROM alembic_version") == [(migrate.head_revision(),)]


def test_a_new_database_is_created_on_first_use(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--config", str(config(tmp_path)), "status"])
    assert result.exit_code == 0
    assert query(database_url(tmp_path), "SELECT version_num FROM alembic_version") == [
        (migrate.head_revision(),)
    ]


def test_head_is_read_from_the_files_as_alembic_reads_it() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    assert migrate.head_revision() == ScriptDirectory.from_config(config).get_current_head()
