"""Credentials for the fuzzed requests: an administrator's token and an application key."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from console.app import create_app as create_console_app
from console.app import use_in_process_api
from embedded.app import PrefixDispatcher
from shared.models import UserAccount
from shared.pipeline import API_KEY_HEADER
from shared.runtime import Runtime
from shared.tokens import CONSOLE_AUDIENCE
from tests.factories import make_app_with_key


@pytest.fixture(scope="session")
def fuzz_console_app(runtime: Runtime, auth_app: FastAPI) -> FastAPI:
    """The console with its calls to the auth service (secret rotation) served in-process."""
    console = create_console_app(runtime)
    use_in_process_api(console, PrefixDispatcher([("/auth", auth_app)], console))
    return console


@pytest.fixture
def credentials(
    runtime: Runtime, admin_user: UserAccount, admin: TestClient
) -> Callable[[], dict[str, str]]:
    """Fresh headers per call: a new admin token (an operation may sign out or rotate the
    secret that signed the previous one) and the key of an active app allowed from PEER."""
    _, api_key = make_app_with_key(admin)

    def headers() -> dict[str, str]:
        token, _ = runtime.tokens.mint(
            subject=str(admin_user.id), audience=CONSOLE_AUDIENCE, ttl_seconds=600
        )
        return {"Authorization": f"Bearer {token}", API_KEY_HEADER: api_key}

    return headers
