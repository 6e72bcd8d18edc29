"""Run the one Alembic history programmatically (dev start-up, tests, the migrate job)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

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


def main() -> None:
    """`python -m shared.migrate`: bring IDENTITY_DATABASE_URL to the latest schema."""
    from shared.settings import load_settings

    upgrade(load_settings().database_url)
    print("database schema is up to date")


if __name__ == "__main__":
    main()
