"""The Checking section: live health of every service and of what they stand on.

Services are asked over HTTP (`/<prefix>/readyz`), like Traefik asks them.
The database, Redis, the Celery workers and the audit stream are asked
directly: they are the shared infrastructure, not another service's data.
Every row says what it asked, and a failed one names the cause and what to do.
"""

from __future__ import annotations

import asyncio
import platform
from dataclasses import dataclass
from urllib.parse import urlsplit

import redis
from celery import Celery
from sqlalchemy import text
from sqlalchemy.engine import make_url

from console.api import ApiError, ConsoleApi
from shared.otp_sender import celery_broker_options
from shared.runtime import Runtime

SERVICES = (
    ("auth", "/auth"),
    ("directory", "/directory"),
    ("otp-delivery", "/otp"),
    ("audit", "/audit"),
    ("console", "/console"),
)
AUDIT_GROUP = "audit"
# More unread audit events than this means the audit consumer is behind.
AUDIT_LAG_WARNING = 1000
# Driver messages can be long (SQLAlchemy appends a link to its docs): the cause fits a cell.
CAUSE_CHARS = 160
START_REDIS = "Start Redis, or correct IDENTITY_REDIS_URL."
SESSIONS_NEED_REDIS = (
    "The console keeps sign-in sessions in Redis: sign-in and every other page wait for it. "
    + START_REDIS
)
START_DATABASE = "Start the database, or correct IDENTITY_DATABASE_URL."
START_WORKER = "Start one: celery -A otp_delivery.worker worker."
START_CONSUMER = "Start one: python -m audit.consumer."


@dataclass(frozen=True)
class Check:
    name: str
    state: str  # ok | warning | down
    detail: str
    advice: str = ""  # what to do, for a row that is not ok


def cause(exc: BaseException) -> str:
    """The exception's class and the driver's own message, without SQLAlchemy's wrapping."""
    inner = getattr(exc, "orig", None) or exc
    message = " ".join(str(inner).split())
    if len(message) > CAUSE_CHARS:
        message = message[: CAUSE_CHARS - 1] + "…"
    return f"{type(inner).__name__}: {message}" if message else type(inner).__name__


def public_cause(exc: BaseException) -> str:
    """The cause's class and, for a refused or timed-out connection, that much: no address."""
    text = str(exc).lower()
    for words in ("connection refused", "timed out", "timeout", "name or service not known"):
        if words in text:
            return f"{type(exc).__name__}: {words}"
    return type(exc).__name__


async def _service_check(api: ConsoleApi, name: str, prefix: str) -> Check:
    asked = f"GET {prefix}/readyz"
    try:
        response = await api.send("GET", f"{prefix}/readyz", auth=False)
    except ApiError as exc:
        return Check(name, "down", f"{asked}: {exc.message}", f"Start the {name} service.")
    if response.status_code == 200:
        return Check(name, "ok", f"{asked}: ready")
    try:
        checks = response.json().get("checks") or {}
        failed = [f"{k} {v}" for k, v in checks.items() if v != "ok"]
        detail = ", ".join(failed) or f"HTTP {response.status_code}"
    except (ValueError, AttributeError):
        detail = f"HTTP {response.status_code}"
    return Check(name, "down", f"{asked}: {detail}", "See the database and Redis rows below.")


async def service_checks(api: ConsoleApi) -> list[Check]:
    return list(await asyncio.gather(*(_service_check(api, n, p) for n, p in SERVICES)))


def is_inline_delivery(runtime: Runtime) -> bool:
    """The embedded mode has no Celery: deliveries run inside the process."""
    return runtime.settings.is_dev or is_memory_redis(runtime)


def is_memory_redis(runtime: Runtime) -> bool:
    return runtime.settings.redis_url.startswith("memory://")


def infrastructure_checks(runtime: Runtime) -> list[Check]:
    """Database, Redis, Celery workers and the audit consumer's lag (blocking: run in a thread)."""
    return [database_check(runtime), redis_check(runtime), _workers(runtime), _audit_lag(runtime)]


def _database_location(runtime: Runtime) -> str:
    url = make_url(runtime.settings.database_url)
    if url.get_backend_name() == "sqlite":
        return url.database or "memory"
    return f"{url.host or 'localhost'}:{url.port or 3306}/{url.database or ''}"


def database_check(runtime: Runtime) -> Check:
    where = _database_location(runtime)
    try:
        with runtime.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                product = "SQLite " + str(conn.execute(text("SELECT sqlite_version()")).scalar())
            else:
                version = str(conn.execute(text("SELECT VERSION()")).scalar())
                # MariaDB says so in its version ("10.11.6-MariaDB-0+deb12u1"); MySQL does not.
                kind = "MariaDB" if "mariadb" in version.lower() else "MySQL"
                product = f"{kind} {version.split('-')[0]}"
        return Check("Database", "ok", f"{product} at {where}: SELECT answered")
    except Exception as exc:
        return Check("Database", "down", f"{where}: {cause(exc)}", START_DATABASE)


def redis_check(runtime: Runtime) -> Check:
    if is_memory_redis(runtime):
        # make dev's in-process stand-in (fakeredis) answers the commands the services use;
        # it has no INFO, so PING is the whole question.
        try:
            runtime.redis.ping()
        except redis.RedisError as exc:
            return Check("Redis", "down", f"in-process stand-in: {cause(exc)}", "Restart make dev.")
        return Check("Redis", "ok", "in-process stand-in (memory://, make dev): PING answered")
    url = urlsplit(runtime.settings.redis_url)
    where = f"{url.hostname or 'localhost'}:{url.port or 6379}{url.path or '/0'}"
    try:
        runtime.redis.ping()
        version = runtime.redis.info("server").get("redis_version", "?")
    except redis.RedisError as exc:
        return Check("Redis", "down", f"{where}: {cause(exc)}", START_REDIS)
    return Check("Redis", "ok", f"Redis {version} at {where}: PING answered")


def _workers(runtime: Runtime) -> Check:
    name = "Celery workers"
    if is_inline_delivery(runtime):
        return Check(name, "ok", "embedded mode: deliveries run in-process")
    app = Celery("identity-console", broker=runtime.settings.redis_url)
    app.conf.broker_transport_options = celery_broker_options(runtime.settings)
    try:
        with app.connection_for_write() as connection:
            replies = app.control.ping(timeout=1.0, connection=connection) or []
    except Exception as exc:
        return Check(name, "down", f"ping over Redis: {cause(exc)}", START_REDIS)
    finally:
        app.close()
    if not replies:
        return Check(name, "down", "ping over Redis: no worker answered", START_WORKER)
    return Check(name, "ok", f"ping over Redis: {len(replies)} answering")


def _audit_lag(runtime: Runtime) -> Check:
    name = "Audit consumer lag"
    try:
        groups = runtime.redis.xinfo_groups(runtime.keys.audit_stream)
    except redis.ResponseError:
        return Check(name, "ok", "no audit events yet")
    except redis.RedisError as exc:
        return Check(name, "down", f"audit stream: {cause(exc)}", START_REDIS)
    group = next((g for g in groups if str(g.get("name")) == AUDIT_GROUP), None)
    if group is None:
        return Check(name, "warning", "the audit consumer has not started", START_CONSUMER)
    lag = group.get("lag")
    pending = int(group.get("pending") or 0)
    behind = int(lag) if lag is not None else 0
    detail = f"audit stream: {behind} unread, {pending} being stored"
    if behind + pending > AUDIT_LAG_WARNING:
        return Check(name, "warning", detail, "The audit consumers are behind: " + START_CONSUMER)
    return Check(name, "ok", detail)


def versions(checks: list[Check]) -> list[tuple[str, str]]:
    found = {c.name: c.detail.split(" at ")[0] for c in checks if c.state == "ok"}
    return [
        ("Identity Services", "0.1.0"),
        ("Python", platform.python_version()),
        ("Database", found.get("Database", "unavailable")),
        ("Redis", found.get("Redis", "unavailable")),
    ]
