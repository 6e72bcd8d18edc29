"""A runtime and service apps of their own, on a private Redis the tests may kill and restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from auth.app import create_app as create_auth_app
from directory.app import create_app as create_directory_app
from shared.runtime import Runtime
from shared.settings import Settings
from tests.auth.support import PASSWORD, AppCaller, Outbox
from tests.conftest import PEER
from tests.factories import make_app_with_key, make_user
from tests.faults.support import PrivateRedis


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def redis_runtime(
    runtime: Runtime, settings: Settings, private_redis: PrivateRedis
) -> Iterator[Runtime]:
    """Same database as every other test (so tables are emptied after each), its own Redis."""
    rt = Runtime(settings.model_copy(update={"redis_url": private_redis.url}))
    rt.otp_sender = Outbox(rt)
    yield rt
    rt.close()


@pytest.fixture
def redis_auth(redis_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_auth_app(redis_runtime), client=PEER) as client:
        yield client


@pytest.fixture
def redis_admin(
    redis_runtime: Runtime, redis_auth: TestClient, admin_headers: dict[str, str]
) -> Iterator[TestClient]:
    """The directory API as an administrator signed in through the console login, as in
    production: a console token names its session, whose revocation is checked in Redis."""
    app = create_directory_app(redis_runtime)
    with TestClient(app, client=PEER, headers=admin_headers) as client:
        admin = make_user(client, name="Root Admin", is_admin=True, password=PASSWORD)
        signed_in = redis_auth.post(
            "/auth/admin/login", json={"login": admin["email"], "password": PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        client.headers["Authorization"] = f"Bearer {signed_in.json()['access_token']}"
        yield client


@pytest.fixture
def redis_caller(redis_admin: TestClient, redis_auth: TestClient) -> AppCaller:
    app, key = make_app_with_key(redis_admin)
    return AppCaller(redis_auth, key, app)


@pytest.fixture
def redis_member(redis_admin: TestClient, redis_caller: AppCaller) -> dict[str, Any]:
    return make_user(
        redis_admin,
        name="Rosa Redis",
        mobile_number="+14155550177",
        password=PASSWORD,
        applications=[redis_caller.app["id"]],
    )


@pytest.fixture
def app_caller(admin: TestClient, auth_client: TestClient) -> AppCaller:
    """The shared-Redis auth app as a registered application calls it (MariaDB faults)."""
    app, key = make_app_with_key(admin)
    return AppCaller(auth_client, key, app)


@pytest.fixture
def app_member(admin: TestClient, app_caller: AppCaller) -> dict[str, Any]:
    return make_user(
        admin, name="Grace Hopper", password=PASSWORD, applications=[app_caller.app["id"]]
    )
