"""Settings of the embedded dev mode: SQLite, an in-process Redis, a key generated once."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from shared.settings import Environment, Settings


def dev_settings(data_dir: Path, issuer: str | None = None) -> Settings:
    """Dev defaults under `data_dir`; any IDENTITY_* variable set still wins.

    `issuer`: where the one process is reached (OpenID Connect relying parties send
    browsers to it and check tokens against it).
    """
    env = os.environ.get("IDENTITY_ENV", "dev")
    if env != Environment.DEV.value:
        raise SystemExit(f"the embedded mode is for dev only (IDENTITY_ENV={env})")
    data_dir.mkdir(parents=True, exist_ok=True)
    key_file = data_dir / "secret.key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(32))
        key_file.chmod(0o600)
    defaults = {
        "database_url": f"sqlite:///{(data_dir / 'identity.db').resolve()}",
        "redis_url": "memory://embedded",
        "secret_key": key_file.read_text().strip(),
        "dev_codes": True,
        "data_dir": data_dir,
        "token_issuer": issuer,
    }
    overrides = {k: v for k, v in defaults.items() if f"IDENTITY_{k.upper()}" not in os.environ}
    return Settings(env=Environment.DEV, **overrides)  # type: ignore[arg-type]
