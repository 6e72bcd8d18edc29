"""Clients for each service app, served in-process over ASGI against the real MariaDB/Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, sync_playwright

from audit.app import create_app as create_audit_app
from auth.app import create_app as create_auth_app
from directory.app import create_app as create_directory_app
from otp_delivery.app import create_app as create_otp_app
from shared.runtime import Runtime

# Debian's Chromium, never a downloaded build; without the background-networking flags it
# keeps trying to reach Google's hosts, which this network refuses.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# The TCP peer the in-process clients appear as; tests that need another peer
# (a trusted proxy, IPv6) build their own client.
PEER = ("127.0.0.1", 50000)


def serve(app: FastAPI) -> Iterator[TestClient]:
    """An in-process client whose requests come from PEER, with the app's lifespan run."""
    with TestClient(app, client=PEER) as client:
        yield client


@pytest.fixture(scope="session")
def directory_app(runtime: Runtime) -> FastAPI:
    return create_directory_app(runtime)


@pytest.fixture(scope="session")
def directory_client(directory_app: FastAPI) -> Iterator[TestClient]:
    yield from serve(directory_app)


@pytest.fixture
def admin(directory_client: TestClient, admin_headers: dict[str, str]) -> Iterator[TestClient]:
    """The directory API as a signed-in administrator."""
    directory_client.headers.update(admin_headers)
    yield directory_client
    for name in admin_headers:
        directory_client.headers.pop(name, None)


@pytest.fixture(scope="session")
def auth_app(runtime: Runtime) -> FastAPI:
    return create_auth_app(runtime)


@pytest.fixture(scope="session")
def auth_client(auth_app: FastAPI) -> Iterator[TestClient]:
    """The auth service as a consuming application at 127.0.0.1 would call it."""
    yield from serve(auth_app)


@pytest.fixture(scope="session")
def audit_app(runtime: Runtime) -> FastAPI:
    return create_audit_app(runtime)


@pytest.fixture(scope="session")
def audit_client(audit_app: FastAPI) -> Iterator[TestClient]:
    yield from serve(audit_app)


@pytest.fixture(scope="session")
def otp_app(runtime: Runtime) -> FastAPI:
    return create_otp_app(runtime)


@pytest.fixture(scope="session")
def otp_client(otp_app: FastAPI) -> Iterator[TestClient]:
    yield from serve(otp_app)


@pytest.fixture
def restore_signing_keys(runtime: Runtime) -> Iterator[None]:
    """Rotation changes rows that outlive the test (the key table is kept): put them back."""
    import time

    from sqlalchemy import delete, select, update

    from shared.invalidation import Topic
    from shared.models import SigningKey

    columns = ("activated_at", "retired_at", "verify_until")
    with runtime.session_factory() as db:
        original = {
            k.kid: {c: getattr(k, c) for c in columns} for k in db.scalars(select(SigningKey))
        }
    yield
    with runtime.session_factory() as db:
        db.execute(delete(SigningKey).where(SigningKey.kid.not_in(original)))
        for kid, values in original.items():
            db.execute(update(SigningKey).where(SigningKey.kid == kid).values(**values))
        db.commit()
    runtime.tokens.reset()
    # Servers of their own (tests/clients, tests/browser) cache keys too: tell them.
    runtime.bus.publish(Topic.SIGNING_KEYS)
    time.sleep(0.2)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the session (the console's tests and the relying party's)."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()
