"""`python -m shared.migrate --wait`: what holds a Kubernetes pod back until the Job migrated."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from shared.db import create_db_engine
from shared.migrate import SchemaState, alembic_config, upgrade, wait_until_migrated

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ScriptDirectory.from_config(alembic_config("sqlite://"))
HEAD = SCRIPT.get_current_head()


class Waited(Exception):
    """Raised by a sleep that ends the wait from the outside."""


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'identity.db'}"


def _set_revision(url: str, revision: str) -> None:
    engine = create_db_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    engine.dispose()


def test_an_empty_database_is_waited_on_until_the_migration_ran(tmp_path: Path) -> None:
    url = _url(tmp_path)
    said: list[str] = []
    sleeps: list[float] = []

    def migrate_meanwhile(seconds: float) -> None:
        sleeps.append(seconds)
        upgrade(url)  # the Job, finishing while the pod waits

    state = wait_until_migrated(url, interval=0.5, sleep=migrate_meanwhile, say=said.append)
    assert state is SchemaState.CURRENT
    assert sleeps == [0.5]
    assert said[0] == f"waiting for the migration: database at no schema, this release needs {HEAD}"
    assert said[1].endswith("starting")


def test_a_database_one_migration_behind_is_waited_on(tmp_path: Path) -> None:
    url = _url(tmp_path)
    previous = SCRIPT.get_revision(HEAD).down_revision
    assert isinstance(previous, str)
    upgrade(url, previous)
    said: list[str] = []

    def never(_: float) -> None:
        raise Waited

    with pytest.raises(Waited):
        wait_until_migrated(url, sleep=never, say=said.append)
    assert said == [f"waiting for the migration: database at {previous}, this release needs {HEAD}"]


def test_a_migrated_database_starts_at_once(tmp_path: Path) -> None:
    url = _url(tmp_path)
    upgrade(url)

    def never(_: float) -> None:
        raise AssertionError("waited on a migrated database")

    assert wait_until_migrated(url, sleep=never, say=lambda _: None) is SchemaState.CURRENT


def test_a_revision_from_a_newer_release_is_not_waited_on(tmp_path: Path) -> None:
    # A rollback, or an old replica restarting after the new release's Job ran: migrated, not
    # unmigrated, and waiting would never end (this release cannot reach that revision).
    url = _url(tmp_path)
    upgrade(url)
    _set_revision(url, "ffffffffffff")
    said: list[str] = []

    def never(_: float) -> None:
        raise AssertionError("waited on a newer schema")

    assert wait_until_migrated(url, sleep=never, say=said.append) is SchemaState.NEWER
    assert "ffffffffffff" in said[0]


def test_an_unreachable_database_is_waited_for(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no-such-dir' / 'identity.db'}"
    said: list[str] = []

    def never(_: float) -> None:
        raise Waited

    with pytest.raises(Waited):
        wait_until_migrated(url, sleep=never, say=said.append)
    assert said[0].startswith("waiting for the database: ")


def test_the_command_line_waits_changes_nothing_and_exits_once_migrated(tmp_path: Path) -> None:
    url = _url(tmp_path)
    env = {**os.environ, "IDENTITY_ENV": "test", "IDENTITY_DATABASE_URL": url}
    argv = [sys.executable, "-m", "shared.migrate", "--wait", "--interval", "0.2"]
    waiter = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            waiter.wait(timeout=3)
        engine = create_db_engine(url)
        with engine.connect() as conn:
            assert not conn.execute(text("SELECT name FROM sqlite_master")).all()
        engine.dispose()
        upgrade(url)
        assert waiter.wait(timeout=10) == 0
    finally:
        waiter.kill()
        output = waiter.communicate()[0]
    assert "waiting for the migration" in output
    assert output.rstrip().endswith("starting")
