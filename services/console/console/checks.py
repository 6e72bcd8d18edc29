"""The Checking section: live health of every service and of what they stand on.

Services are asked over HTTP (`/<prefix>/readyz`), like Traefik asks them.
MySQL, Redis, the Celery workers and the audit stream are asked directly:
they are the shared infrastructure, not another service's data.
"""

from __future__ import annotations

import asyncio
import platform
from dataclasses import dataclass

import redis
from celery import Celery
from sqlalchemy import text

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


@dataclass(frozen=True)
class Check:
    name: str
    state: str  # ok | warning | down
    detail: str


async def _service_check(api: ConsoleApi, name: str, prefix: str) -> Check:
    try:
        response = await api.send("GET", f"{prefix}/readyz", auth=False)
    except ApiError as exc:
        return Check(name, "down", exc.message)
    if response.status_code == 200:
        return Check(name, "ok", "ready")
    try:
        checks = response.json().get("checks") or {}
        detail = ", ".join(f"{k}: {v}" for k, v in checks.items()) or f"HTTP {response.status_code}"
    except (ValueError, AttributeError):
        detail = f"HTTP {response.status_code}"
    return Check(name, "down", detail)


async def service_checks(api: ConsoleApi) -> list[Check]:
    return list(await asyncio.gather(*(_service_check(api, n, p) for n, p in SERVICES)))


def is_inline_delivery(runtime: Runtime) -> bool:
    """The embedded mode has no Celery: deliveries run inside the process."""
    return runtime.settings.is_dev or runtime.settings.redis_url.startswith("memory://")


def infrastructure_checks(runtime: Runtime) -> list[Check]:
    """MySQL, Redis, Celery workers and the audit consumer's lag (blocking: run in a thread)."""
    return [_database(runtime), _redis(runtime), _workers(runtime), _audit_lag(runtime)]


def _database(runtime: Runtime) -> Check:
    try:
        with runtime.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                version = "SQLite " + str(conn.execute(text("SELECT sqlite_version()")).scalar())
            else:
                version = str(conn.execute(text("SELECT VERSION()")).scalar())
        return Check("MySQL", "ok", version)
    except Exception as exc:
        return Check("MySQL", "down", type(exc).__name__)


def _redis(runtime: Runtime) -> Check:
    try:
        info = runtime.redis.info("server")
        return Check("Redis", "ok", f"Redis {info.get('redis_version', '?')}")
    except redis.RedisError as exc:
        return Check("Redis", "down", type(exc).__name__)


def _workers(runtime: Runtime) -> Check:
    if is_inline_delivery(runtime):
        return Check("Celery workers", "ok", "embedded mode: deliveries run in-process")
    app = Celery("identity-console", broker=runtime.settings.redis_url)
    app.conf.broker_transport_options = celery_broker_options(runtime.settings)
    try:
        with app.connection_for_write() as connection:
            replies = app.control.ping(timeout=1.0, connection=connection) or []
    except Exception as exc:
        return Check("Celery workers", "down", type(exc).__name__)
    finally:
        app.close()
    if not replies:
        return Check("Celery workers", "down", "no worker answered")
    return Check("Celery workers", "ok", f"{len(replies)} answering")


def _audit_lag(runtime: Runtime) -> Check:
    name = "Audit consumer lag"
    try:
        groups = runtime.redis.xinfo_groups(runtime.keys.audit_stream)
    except redis.ResponseError:
        return Check(name, "warning", "no audit events yet")
    except redis.RedisError as exc:
        return Check(name, "down", type(exc).__name__)
    group = next((g for g in groups if str(g.get("name")) == AUDIT_GROUP), None)
    if group is None:
        return Check(name, "warning", "the audit consumer has not started")
    lag = group.get("lag")
    pending = int(group.get("pending") or 0)
    behind = int(lag) if lag is not None else 0
    state = "warning" if behind + pending > AUDIT_LAG_WARNING else "ok"
    return Check(name, state, f"{behind} unread, {pending} being stored")


def versions(runtime: Runtime, checks: list[Check]) -> list[tuple[str, str]]:
    found = {c.name: c.detail for c in checks if c.state == "ok"}
    return [
        ("Identity Services", "0.1.0"),
        ("Python", platform.python_version()),
        ("Database", found.get("MySQL", "unavailable")),
        ("Redis", found.get("Redis", "unavailable")),
    ]
