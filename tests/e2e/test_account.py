"""The account page through Traefik: `/account` is routed to auth, its script to auth too,
and a user signs in to it at the hosted page and lands back on it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import World
from tests.e2e.support import PASSWORD


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(20_000)
    tab = context.new_page()
    yield tab
    context.close()


def test_the_account_page_through_the_gateway(page: Page, gateway_url: str, world: World) -> None:
    script = httpx.get(f"{gateway_url}/auth/static/passkeys.js", timeout=10)
    assert script.status_code == 200 and "navigator.credentials" in script.text
    page.goto(f"{gateway_url}/account")
    expect(page.locator("h1")).to_have_text("Sign in to your account")
    page.fill("#password-form input[name=login]", world.alice["email"])
    page.fill("#password-form input[name=password]", PASSWORD)
    page.click("#password-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("Your account")
    expect(page.locator("#account-user")).to_contain_text(world.alice["name"])
    expect(page.locator("#sessions")).to_contain_text("Single sign-on (this page)")
