"""Pytest fixtures every service's tests share: a fresh MariaDB database, a Redis namespace.

Each run creates its own database (migrated with Alembic, never create_all)
and drops it at the end, and uses its own Redis key prefix, deleted at the
end. Tests commit for real, because the code under test uses several
connections and threads (key cache, usage flusher, concurrent requests);
after each test every table is emptied.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pymysql
import pytest
import redis
from sqlalchemy import text

from shared.migrate import upgrade
from shared.models import Base, UserAccount
from shared.runtime import Runtime
from shared.settings import Environment, Settings
from shared.signing_keys import ensure_signing_keys
from shared.sync_contract import compute_sync_hash
from shared.tokens import CONSOLE_AUDIENCE

MYSQL_URL = os.environ.get("IDENTITY_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")
REDIS_URL = os.environ.get("IDENTITY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

HOW_TO_START = {
    "MariaDB": "start it with: start-stop-daemon --start --oknodo --background "
    "--exec /usr/sbin/mariadbd (or set IDENTITY_TEST_MYSQL_URL)",
    "Redis": "start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 "
    "--save '' --appendonly no (or set IDENTITY_TEST_REDIS_URL)",
}


def _mysql_params() -> dict[str, Any]:
    parts = urlsplit(MYSQL_URL.replace("mysql+pymysql", "mysql"))
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": parts.username or "root",
        "password": parts.password or "",
    }


def pytest_sessionstart(session: pytest.Session) -> None:
    try:
        pymysql.connect(connect_timeout=3, **_mysql_params()).close()
    except pymysql.MySQLError:
        pytest.exit(f"MariaDB is not reachable at {MYSQL_URL}; {HOW_TO_START['MariaDB']}", 3)
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError:
        pytest.exit(f"Redis is not reachable at {REDIS_URL}; {HOW_TO_START['Redis']}", 3)


@pytest.fixture(scope="session")
def test_database_url() -> Iterator[str]:
    name = f"identity_test_{uuid.uuid4().hex[:12]}"
    params = _mysql_params()
    admin = pymysql.connect(autocommit=True, **params)
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    url = f"{MYSQL_URL}/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


@pytest.fixture(scope="session")
def settings(test_database_url: str) -> Settings:
    return Settings(
        env=Environment.TEST,
        database_url=test_database_url,
        redis_url=REDIS_URL,
        redis_prefix=f"identity-test-{uuid.uuid4().hex[:12]}:",
        secret_key=secrets.token_urlsafe(32),
        trusted_proxies=["10.255.0.0/16"],
        api_key_cache_seconds=5.0,
        # Fast hashing in tests; the defaults are exercised by the hashing tests.
        argon2_time_cost=2,
        argon2_memory_kib=19456,
    )


@pytest.fixture(scope="session")
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime(settings)
    with rt.session_factory() as session:
        ensure_signing_keys(session, rt.box)
    yield rt
    for key in rt.redis.scan_iter(match=settings.redis_prefix + "*", count=1000):
        rt.redis.delete(key)
    rt.close()


_KEEP = {"sync_counter", "signing_key"}


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "runtime" not in request.fixturenames:
        return
    rt: Runtime = request.getfixturevalue("runtime")
    with rt.engine.begin() as conn:
        if conn.dialect.name == "mysql":
            conn.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in _KEEP:
                conn.execute(table.delete())
        if conn.dialect.name == "mysql":
            conn.execute(text("SET FOREIGN_KEY_CHECKS=1"))
    prefix = rt.settings.redis_prefix
    for key in rt.redis.scan_iter(match=prefix + "*", count=1000):
        rt.redis.delete(key)
    rt.app_pipeline.usage.drain()
    rt.bus.publish_local_all()


@pytest.fixture
def admin_user(runtime: Runtime) -> UserAccount:
    """An active administrator, inserted directly (the directory API needs an admin first)."""
    fields = {
        "name": "Ada Admin",
        "email": f"ada-{uuid.uuid4().hex[:8]}@example.com",
        "mobile_number": None,
        "emp_id": None,
        "status": "active",
    }
    user = UserAccount(**fields, is_admin=True, sync_hash=compute_sync_hash(fields))
    with runtime.session_factory() as session:
        session.add(user)
        session.commit()
    return user


@pytest.fixture
def admin_headers(runtime: Runtime, admin_user: UserAccount) -> dict[str, str]:
    token, _ = runtime.tokens.mint(
        subject=str(admin_user.id), audience=CONSOLE_AUDIENCE, ttl_seconds=600
    )
    return {"Authorization": f"Bearer {token}"}
