"""The console in a real headless Chromium (Debian's), against a real server.

All services run in one uvicorn server (the embedded app) on a free loopback
port, on the test MariaDB and Redis, with the audit consumer as a thread, a
known setup token and dev codes on (the OTP sign-in reads the code off the
page). Screenshots go to test-output/screenshots/.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, ConsoleMessage, Page, Response
from pydantic import SecretStr

from audit.background import start_embedded_consumer
from embedded.app import create_embedded_app
from shared.runtime import Runtime
from shared.settings import Settings
from tests.embedded.test_embedded_mode import free_port

SETUP_TOKEN = "browser-test-setup-token"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


@pytest.fixture(scope="module")
def server_runtime(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runtime]:
    """The server's own runtime: the test database and Redis prefix, browser-friendly options."""
    options = settings.model_copy(
        update={
            "dev_codes": True,
            "otp_allow_private_hosts": True,
            "setup_token": SecretStr(SETUP_TOKEN),
            "data_dir": tmp_path_factory.mktemp("console-data"),
        }
    )
    runtime = Runtime(options)
    start_embedded_consumer(runtime)
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def base_url(server_runtime: Runtime, runtime: Runtime) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        create_embedded_app(server_runtime),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="console-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the console server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)


@contextlib.contextmanager
def watched_tab(browser: Browser, base_url: str) -> Iterator[Page]:
    """A fresh browser tab (no cookies). Script errors and CSP violations fail the test."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1360, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    problems: list[str] = []

    def console_error(message: ConsoleMessage) -> None:
        # Chromium also logs every 4xx page as a console error; forms answer 4xx on bad
        # input by design, so failed loads are judged by `failed_asset` instead.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(message.text)

    def failed_asset(response: Response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            problems.append(f"{response.status} {response.url}")

    tab.on("console", console_error)
    tab.on("response", failed_asset)
    tab.on("pageerror", lambda exc: problems.append(str(exc)))
    tab.on("dialog", lambda dialog: dialog.accept())
    yield tab
    context.close()
    assert problems == []


@pytest.fixture
def page(browser: Browser, base_url: str, runtime: Runtime) -> Iterator[Page]:
    """A fresh tab in front of the module's server (see `watched_tab`)."""
    with watched_tab(browser, base_url) as tab:
        yield tab


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
