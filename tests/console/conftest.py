"""The console served with every service in one ASGI app (as in the embedded mode), on the
test MariaDB and Redis; its API calls reach the services in-process, over HTTP semantics."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from console.app import create_app as create_console_app
from console.app import use_in_process_api
from embedded.app import PrefixDispatcher
from shared.models import UserAccount
from shared.runtime import Runtime
from tests.conftest import PEER
from tests.console.support import PASSWORD, make_admin, sign_in


@pytest.fixture(scope="session")
def console_app(runtime: Runtime) -> FastAPI:
    return create_console_app(runtime)


@pytest.fixture(scope="session")
def whole_system(
    console_app: FastAPI,
    auth_app: FastAPI,
    directory_app: FastAPI,
    otp_app: FastAPI,
    audit_app: FastAPI,
) -> PrefixDispatcher:
    routes = [
        ("/auth", auth_app),
        ("/.well-known", auth_app),
        ("/account", auth_app),
        ("/directory", directory_app),
        ("/users", directory_app),
        ("/otp", otp_app),
        ("/audit", audit_app),
        ("/setup", console_app),
        ("/console", console_app),
    ]
    dispatcher = PrefixDispatcher(routes, console_app)
    use_in_process_api(console_app, dispatcher)
    return dispatcher


@pytest.fixture(scope="session")
def browser_like(whole_system: PrefixDispatcher, runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(whole_system, client=PEER, follow_redirects=False) as client:
        client.app_runtime = runtime  # type: ignore[attr-defined]
        yield client


@pytest.fixture
def console(browser_like: TestClient, runtime: Runtime) -> Iterator[TestClient]:
    """A signed-out browser (no cookies) in front of the console."""
    browser_like.cookies.clear()
    yield browser_like
    browser_like.cookies.clear()


@pytest.fixture
def console_admin(runtime: Runtime) -> UserAccount:
    return make_admin(runtime)


@pytest.fixture
def signed_in(console: TestClient, console_admin: UserAccount) -> TestClient:
    """The console in a browser signed in as `console_admin`."""
    sign_in(console, console_admin.email or "", PASSWORD)
    return console
