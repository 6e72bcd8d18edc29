"""Retries with real failures: a service not listening yet, a Redis that went away (503).
Both are retried with backoff; a 4xx never is."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from identity_client import IdentityClient, InvalidToken, ServiceUnavailable, TokenPair
from identity_client._api import RetryPolicy

from embedded.app import create_embedded_app
from shared.runtime import Runtime
from shared.settings import Settings
from tests.auth.support import PASSWORD
from tests.clients.conftest import serve
from tests.e2e.support import free_port_run
from tests.faults.support import PrivateRedis

FAST = RetryPolicy(retries=8, base_seconds=0.1, cap_seconds=0.8)


def _counted(base_url: str) -> tuple[httpx.Client, list[int]]:
    attempts: list[int] = []
    http = httpx.Client(
        base_url=base_url, event_hooks={"request": [lambda r: attempts.append(1)]}, timeout=5
    )
    return http, attempts


def test_a_service_not_up_yet_is_retried_until_it_answers(service_runtime, app):
    port = free_port_run(1, start=26000)
    base_url = f"http://127.0.0.1:{port}"
    http, attempts = _counted(base_url)
    server_ready = threading.Event()

    def start_late() -> None:
        time.sleep(0.8)  # the first attempts meet a closed port
        for _ in serve(create_embedded_app(service_runtime), port):
            server_ready.set()
            time.sleep(3)

    threading.Thread(target=start_late, daemon=True).start()
    with IdentityClient(base_url, app.key, retry=FAST, http=http) as identity:
        user = identity.register(app.member["email"])
    assert user.auth_user_id == app.member["auth_user_id"]
    assert len(attempts) >= 2


@pytest.fixture
def redis_backed(settings: Settings, tmp_path: Path):
    redis_server = PrivateRedis(tmp_path)
    redis_server.start()
    runtime = Runtime(settings.model_copy(update={"redis_url": redis_server.url}))
    try:
        for base_url in serve(create_embedded_app(runtime), free_port_run(1, start=25000)):
            yield base_url, redis_server
    finally:
        redis_server.kill()
        runtime.close()


def test_503_while_redis_is_down_is_retried_and_a_4xx_never_is(redis_backed, app):
    base_url, redis_server = redis_backed
    http, attempts = _counted(base_url)
    with IdentityClient(base_url, app.key, retry=FAST, http=http) as identity:
        pair = identity.login(app.member["email"], PASSWORD)
        assert isinstance(pair, TokenPair)
        attempts.clear()
        with pytest.raises(InvalidToken):
            identity.session("not-a-token")
        assert len(attempts) == 1  # a 401 is an answer, not a failure to retry

        redis_server.kill()
        attempts.clear()
        threading.Timer(1.0, redis_server.start).start()  # back after a second
        info = identity.session(pair.access_token)
        assert info.user.auth_user_id == app.member["auth_user_id"]
        assert len(attempts) >= 2  # it got 503s first

        redis_server.kill()
        attempts.clear()
        impatient = RetryPolicy(retries=2, base_seconds=0.05, cap_seconds=0.1)
        quick = IdentityClient(base_url, app.key, retry=impatient, http=http)
        with quick, pytest.raises(ServiceUnavailable) as gave_up:
            quick.session(pair.access_token)
        assert gave_up.value.status == 503 and len(attempts) == 3
