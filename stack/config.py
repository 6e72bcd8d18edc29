"""Where the local stack listens and what every one of its processes is told (IDENTITY_*)."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shared.security.passwords import usable_cpus
from stack.topology import ROOT

DEFAULT_RUN_DIR = ROOT / "run"


@dataclass(frozen=True)
class StackConfig:
    run_dir: Path = DEFAULT_RUN_DIR
    host: str = "127.0.0.1"
    gateway_port: int = 8080
    first_service_port: int = 8101
    auth_replicas: int = 2
    session_replicas: int = 1  # replicas for `GET /auth/session` alone (stack/topology.py)
    # Proxies in front of Traefik whose X-Forwarded-For it keeps; none locally.
    edge_trusted_ips: tuple[str, ...] = ()
    # IDENTITY_* settings for every process (the trusted proxies are always set by the stack).
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def gateway_url(self) -> str:
        return f"http://{self.host}:{self.gateway_port}"

    @property
    def trusted_proxies(self) -> str:
        """Traefik reaches the services from the stack's host address, and only from there."""
        return f"{self.host}/32"

    def process_env(self, pythonpath: str | None = None) -> dict[str, str]:
        """The caller's environment without its IDENTITY_* values, then the stack's."""
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("IDENTITY_")}
        env.update(self.env)
        env["IDENTITY_TRUSTED_PROXIES"] = self.trusted_proxies
        # The console reaches the other services' admin APIs through Traefik.
        env.setdefault("IDENTITY_CONSOLE_API_BASE_URL", self.gateway_url)
        # Traefik is where browsers and relying parties reach the provider (OpenID Connect).
        env.setdefault("IDENTITY_TOKEN_ISSUER", self.gateway_url)
        env["PYTHONUNBUFFERED"] = "1"
        # The auth replicas share this host's CPUs: hashing processes for all of them together,
        # not for each (more than CPUs cost each hash 13% and sign-ins 10%; bench/README.md).
        per_replica = max(1, usable_cpus() // max(1, self.auth_replicas))
        env.setdefault("IDENTITY_PASSWORD_HASHING_PROCESSES", str(per_replica))
        # As in the images: two malloc arenas, not one per thread (bench/README.md, soak).
        env.setdefault("MALLOC_ARENA_MAX", "2")
        if pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
        return env


def config_from_environment(run_dir: Path = DEFAULT_RUN_DIR) -> StackConfig:
    """`make stack`: IDENTITY_* from the shell; ports from STACK_PORT / STACK_FIRST_SERVICE_PORT.

    The database and Redis default to the local servers (the Settings defaults).
    Without IDENTITY_SECRET_KEY a random one is made once and kept in
    run/secret_key, so encrypted values survive a restart of the stack. That
    file is for this local stack only; production gets its key from its
    secret store.
    """
    env = {k: v for k, v in os.environ.items() if k.upper().startswith("IDENTITY_")}
    if not env.get("IDENTITY_SECRET_KEY"):
        env["IDENTITY_SECRET_KEY"] = _local_secret_key(run_dir)
    return StackConfig(
        run_dir=run_dir,
        gateway_port=int(os.environ.get("STACK_PORT", "8080")),
        first_service_port=int(os.environ.get("STACK_FIRST_SERVICE_PORT", "8101")),
        env=env,
    )


def _local_secret_key(run_dir: Path) -> str:
    path = run_dir / "secret_key"
    if not path.exists():
        run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def ensure_database(database_url: str) -> None:
    """Create the MySQL/MariaDB database when it is missing (the migrate step needs it)."""
    url = make_url(database_url)
    if not url.drivername.startswith("mysql") or not url.database:
        return
    if not re.fullmatch(r"[A-Za-z0-9_$]+", url.database):
        raise ValueError(f"create the database {url.database!r} yourself")
    server = create_engine(url.set(database=""))
    try:
        with server.connect() as conn:
            conn.execute(
                text(
                    f"CREATE DATABASE IF NOT EXISTS `{url.database}` "
                    "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
            )
    finally:
        server.dispose()
