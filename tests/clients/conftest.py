"""The client library against the real service: every service in one uvicorn server (the
embedded app) on a loopback port, on this run's MariaDB and Redis; the library talks
HTTP to it as an application would."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from identity_client import IdentityClient

from embedded.app import create_embedded_app
from shared.runtime import Runtime
from shared.settings import Settings
from tests.auth.support import PASSWORD, Outbox
from tests.console.conftest import (  # the console, for the API docs test
    browser_like,
    console,
    console_admin,
    console_app,
    signed_in,
    whole_system,
)
from tests.e2e.support import free_port_run
from tests.factories import make_app_with_key, make_user


def serve(app: Any, port: int) -> Iterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False)
    )
    thread = threading.Thread(target=server.run, name="identity-service", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the service did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="module")
def service_runtime(settings: Settings) -> Iterator[Runtime]:
    """The server's runtime: this run's database and Redis prefix, codes captured."""
    runtime = Runtime(settings.model_copy())
    runtime.otp_sender = Outbox(runtime)
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def base_url(service_runtime: Runtime) -> Iterator[str]:
    yield from serve(create_embedded_app(service_runtime), free_port_run(1, start=27000))


@pytest.fixture
def outbox(service_runtime: Runtime) -> Outbox:
    captured = service_runtime.otp_sender
    assert isinstance(captured, Outbox)
    captured.tasks.clear()
    return captured


@dataclass
class App:
    id: str
    key: str
    member: dict[str, Any]


@pytest.fixture
def app(admin: TestClient) -> App:
    """An application allowed from loopback, with its key, and one assigned user."""
    registered, key = make_app_with_key(admin)
    member = make_user(
        admin,
        name="Grace Hopper",
        mobile_number="+14155550123",
        password=PASSWORD,
        applications=[registered["id"]],
    )
    return App(registered["id"], key, member)


@pytest.fixture
def identity(base_url: str, app: App) -> Iterator[IdentityClient]:
    with IdentityClient(base_url, app.key, application_id=app.id) as client:
        yield client


__all__ = ["browser_like", "console", "console_admin", "console_app", "signed_in", "whole_system"]
