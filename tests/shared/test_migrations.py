"""The one Alembic history: reversible, and exactly the schema the ORM models describe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from shared.db import create_db_engine
from shared.migrate import alembic_config, downgrade, upgrade
from shared.models import Base

MODEL_TABLES = set(Base.metadata.tables)


def _schema_diffs(url: str) -> list[Any]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "target_metadata": Base.metadata}
            )
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = create_db_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _current_revision(url: str) -> str | None:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def test_history_is_one_linear_chain() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    assert len(script.get_bases()) == 1


def test_sqlite_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'identity.db'}"
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()

    upgrade(url)
    assert _current_revision(url) == head
    assert _tables(url) == MODEL_TABLES

    downgrade(url, "base")
    assert _current_revision(url) is None
    assert _tables(url) == set()

    upgrade(url)
    assert _current_revision(url) == head
    assert _tables(url) == MODEL_TABLES
    assert _schema_diffs(url) == []


def test_migrated_mariadb_matches_the_models(test_database_url: str) -> None:
    # Autogenerate would write a migration for any difference: there must be none.
    assert _current_revision(test_database_url) is not None
    assert _tables(test_database_url) == MODEL_TABLES
    assert _schema_diffs(test_database_url) == []
