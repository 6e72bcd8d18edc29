"""Run the one Alembic history programmatically (dev start-up, tests, the migrate job).

`python -m shared.migrate` brings the database to the latest schema (compose's `migrate`
service, the Kubernetes Job); `python -m shared.migrate --wait` only waits until something
else has, so a process started beside the migration never runs against an older schema
(the Kubernetes init containers: Kubernetes has no "start after that Job" of its own).
"""

from __future__ import annotations

import argparse
import enum
import time
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

ROOT = Path(__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


class SchemaState(enum.Enum):
    CURRENT = "at this release's head"
    BEHIND = "behind this release's head"
    # A revision this code does not know: a newer release has migrated the database (a
    # rollback, or an old replica restarting mid-upgrade). Not unmigrated, so not waited on.
    NEWER = "at a revision this release does not know"


def schema_state(database_url: str) -> tuple[SchemaState, str | None, str]:
    """Where the database's schema stands against this code's migrations: (state, the
    database's revision or None for no schema at all, this code's head)."""
    from shared.db import create_db_engine

    script = ScriptDirectory.from_config(alembic_config(database_url))
    head = script.get_current_head()
    assert head is not None, "the migration history is empty"
    engine = create_db_engine(database_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
    if current == head:
        return SchemaState.CURRENT, current, head
    if current is None:
        return SchemaState.BEHIND, None, head
    try:
        script.get_revision(current)
    except CommandError:
        return SchemaState.NEWER, current, head
    return SchemaState.BEHIND, current, head


def wait_until_migrated(
    database_url: str,
    *,
    interval: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    say: Callable[[str], None] = print,
) -> SchemaState:
    """Return once the schema is at this code's head (or past it); until then, say why not
    every `interval` seconds. An unreachable database is waited for too."""
    while True:
        try:
            state, current, head = schema_state(database_url)
        except SQLAlchemyError as exc:
            # The driver's message names host and port, never the URL's password.
            reason = str(exc.orig) if isinstance(exc, DBAPIError) else type(exc).__name__
            say(f"waiting for the database: {reason}")
        else:
            if state is not SchemaState.BEHIND:
                say(f"database schema {current} is {state.value}: starting")
                return state
            say(
                f"waiting for the migration: database at {current or 'no schema'}, "
                f"this release needs {head}"
            )
        sleep(interval)


def main(argv: list[str] | None = None) -> None:
    """`python -m shared.migrate [--wait]`: migrate IDENTITY_DATABASE_URL, or wait for it."""
    from shared.settings import load_settings

    parser = argparse.ArgumentParser(prog="python -m shared.migrate")
    parser.add_argument(
        "--wait",
        action="store_true",
        help="change nothing: wait until the schema is at this release's head",
    )
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between checks")
    args = parser.parse_args(argv)
    database_url = load_settings().database_url
    if args.wait:
        wait_until_migrated(database_url, interval=args.interval, say=_say)
        return
    upgrade(database_url)
    print("database schema is up to date")


def _say(message: str) -> None:
    print(message, flush=True)


if __name__ == "__main__":
    main()
