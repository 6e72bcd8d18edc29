"""Fixtures for the auth tests: an application with its key, its users, an OTP outbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared.runtime import Runtime
from tests.auth.support import PASSWORD, AppCaller, Outbox
from tests.factories import make_app_with_key, make_user


@pytest.fixture(autouse=True)
def outbox(runtime: Runtime) -> Iterator[Outbox]:
    """Deliveries are captured at the producer hook; no Celery worker runs in unit tests."""
    previous = runtime.otp_sender
    captured = Outbox(runtime)
    runtime.otp_sender = captured
    yield captured
    runtime.otp_sender = previous


@pytest.fixture
def application(admin: TestClient) -> tuple[dict[str, Any], str]:
    return make_app_with_key(admin)


@pytest.fixture
def caller(auth_client: TestClient, application: tuple[dict[str, Any], str]) -> AppCaller:
    """The auth API as the registered application calls it (its key, from an allowed IP)."""
    return AppCaller(auth_client, application[1], application[0])


@pytest.fixture
def member(admin: TestClient, application: tuple[dict[str, Any], str]) -> dict[str, Any]:
    """An active user with a password and a mobile number, assigned to the application."""
    return make_user(
        admin,
        name="Grace Hopper",
        mobile_number="+14155550123",
        password=PASSWORD,
        applications=[application[0]["id"]],
    )


@pytest.fixture
def dev_codes(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime.settings, "dev_codes", True)


@pytest.fixture
def admin_auth(auth_client: TestClient, admin_headers: dict[str, str]) -> Iterator[TestClient]:
    """The auth service's admin API as a signed-in administrator."""
    auth_client.headers.update(admin_headers)
    yield auth_client
    for name in admin_headers:
        auth_client.headers.pop(name, None)


@pytest.fixture
def rp(admin_auth: TestClient, application: tuple[dict[str, Any], str]) -> dict[str, Any]:
    """The application, registered as a confidential OpenID Connect client."""
    from tests.auth.oidc_support import register_client

    settings = register_client(admin_auth, application[0]["id"])
    return {"id": application[0]["id"], "secret": settings["client_secret"], "key": application[1]}
