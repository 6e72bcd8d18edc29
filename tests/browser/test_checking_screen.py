"""Service setup → Checking in Chromium tells the truth: all green on a fresh `make dev`, and
under `make stack` a red row naming the cause when MariaDB or Redis stops.

The stopped servers are this test's own (tests/faults/support.py): a mariadbd and a
redis-server on ports and data directories of their own; the machine's shared MariaDB and
Redis are never touched. The stack is the `make stack` runner, as tests/e2e/ starts it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from shared.settings import Settings
from stack.config import StackConfig
from stack.runner import Stack
from tests.browser.conftest import screenshot, watched_tab
from tests.console.support import PASSWORD
from tests.e2e.support import free_port_run
from tests.embedded.test_embedded_mode import dev_env, free_port
from tests.faults.support import PrivateMariaDB, PrivateRedis

SETUP_TOKEN = "checking-screen-setup-token"
COMPONENTS = [
    "auth",
    "directory",
    "otp-delivery",
    "audit",
    "console",
    "Database",
    "Redis",
    "Celery workers",
    "Audit consumer lag",
]


def rows(page: Page) -> dict[str, tuple[str, str]]:
    """Component -> (state, what was checked and the answer), as the table shows them."""
    shown: dict[str, tuple[str, str]] = {}
    for row in page.locator("#checks tbody tr").all():
        cells = row.locator("td").all_inner_texts()
        shown[cells[0]] = (cells[1], " ".join(cells[2].split()))
    return shown


def wait_until_ready(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, "make dev's process ended"
        time.sleep(0.2)
    pytest.fail(f"{url} never answered")


@pytest.fixture
def fresh_make_dev(tmp_path: Path) -> Iterator[str]:
    """`make dev` as a newcomer runs it: a new data directory, SQLite, the Redis stand-in."""
    port = free_port()
    log = (tmp_path / "dev.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "embedded", "--port", str(port), "--data-dir", str(tmp_path)],
        env={**dev_env(), "IDENTITY_SETUP_TOKEN": SETUP_TOKEN},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{base}/directory/readyz", process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


@pytest.mark.embedded
def test_a_fresh_make_dev_is_all_green(browser: Browser, fresh_make_dev: str):
    with watched_tab(browser, fresh_make_dev) as page:
        page.goto("/setup")
        form = page.locator("#setup-form")
        form.get_by_label("Setup token").fill(SETUP_TOKEN)
        form.get_by_label("Name").fill("Newcomer")
        form.get_by_label("Email address").fill("newcomer@example.com")
        form.get_by_label("Password", exact=True).fill(PASSWORD)
        form.get_by_label("Repeat the password").fill(PASSWORD)
        form.get_by_role("button", name="Create administrator").click()
        expect(page.get_by_role("heading", name="Checking")).to_be_visible()
        shown = rows(page)
        screenshot(page, "20-checking-make-dev")
    assert list(shown) == COMPONENTS
    assert {name: state for name, (state, _) in shown.items()} == dict.fromkeys(COMPONENTS, "ok")
    assert shown["Redis"][1] == "in-process stand-in (memory://, make dev): PING answered"
    assert shown["Database"][1].startswith("SQLite 3.")
    assert shown["Database"][1].endswith("identity.db: SELECT answered")


@pytest.fixture
def stack_on_own_servers(
    settings: Settings, tmp_path: Path
) -> Iterator[tuple[Stack, PrivateMariaDB, PrivateRedis]]:
    (tmp_path / "mariadb").mkdir()
    (tmp_path / "redis").mkdir()
    database = PrivateMariaDB(tmp_path / "mariadb")
    redis_server = PrivateRedis(tmp_path / "redis", durable=False)
    database.start()
    redis_server.start()
    first_port = free_port_run(10)
    config = StackConfig(
        run_dir=tmp_path / "run",
        gateway_port=first_port,
        first_service_port=first_port + 1,
        env={
            "IDENTITY_ENV": "production",
            "IDENTITY_DATABASE_URL": database.url,
            "IDENTITY_REDIS_URL": redis_server.url,
            "IDENTITY_SECRET_KEY": settings.secret_key.get_secret_value(),
            "IDENTITY_SETUP_TOKEN": SETUP_TOKEN,
        },
    )
    stack = Stack(config)
    try:
        stack.up()  # creates the database and migrates it, as `make stack` does
        yield stack, database, redis_server
    finally:
        stack.down()
        database.kill()
        redis_server.kill()


def test_under_make_stack_a_stopped_mariadb_or_redis_is_a_red_row_with_its_cause(
    browser: Browser, stack_on_own_servers: tuple[Stack, PrivateMariaDB, PrivateRedis]
):
    stack, database, redis_server = stack_on_own_servers
    body = {"setup_token": SETUP_TOKEN, "name": "Ops", "email": "ops@example.com"}
    created = httpx.post(
        f"{stack.config.gateway_url}/auth/admin/setup", json={**body, "password": PASSWORD}
    )
    assert created.status_code == 201, created.text
    with watched_tab(browser, stack.config.gateway_url) as page:
        page.goto("/setup")
        form = page.locator("#password-form")
        form.get_by_label("Email address or mobile number").fill("ops@example.com")
        form.get_by_label("Password").fill(PASSWORD)
        form.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Checking")).to_be_visible()
        before = rows(page)
        assert before["Database"][0] == "ok"
        assert f"at 127.0.0.1:{database.port}/identity" in before["Database"][1]
        assert before["Redis"][0] == "ok"
        assert f"at 127.0.0.1:{redis_server.port}/0" in before["Redis"][1]
        assert all(state == "ok" for name, (state, _) in before.items() if name != "Celery workers")

        database.kill()
        page.goto("/setup")
        without_database = rows(page)
        screenshot(page, "21-checking-mariadb-stopped")
        state, detail = without_database["Database"]
        assert state == "down"
        assert "OperationalError" in detail and "Can't connect" in detail
        assert "Start the database, or correct IDENTITY_DATABASE_URL." in detail
        assert without_database["directory"][0] == "down"
        assert "database unavailable: OperationalError" in without_database["directory"][1]
        assert without_database["Redis"][0] == "ok"

        redis_server.kill()
        page.goto("/setup")  # answered 503: the page says why instead of failing
        without_redis = rows(page)
        screenshot(page, "22-checking-redis-stopped")
        state, detail = without_redis["Redis"]
        assert state == "down" and "ConnectionError: connection refused" in detail
        assert "Start Redis, or correct IDENTITY_REDIS_URL." in detail
        assert without_redis["Database"][0] == "down"
