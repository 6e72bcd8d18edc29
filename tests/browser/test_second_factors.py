"""Second factors end to end in headless Chromium at the account page and the hosted sign-in
page: an authenticator app with codes computed by pyotp from the secret the page shows, and
passkeys with Chromium's DevTools virtual authenticator (enrol, second factor,
passwordless, a counter that went back, remove).

WebAuthn needs a secure context and a domain for the RP ID, so this module's server is
reached as http://localhost:<port> (its issuer too), not 127.0.0.1.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
import uvicorn
from playwright.sync_api import Browser, CDPSession, Page, expect
from pydantic import SecretStr
from sqlalchemy import update

from audit.background import start_embedded_consumer
from auth.mfa.totp import current_step
from embedded.app import create_embedded_app
from shared.models import PasskeyCredential
from shared.runtime import Runtime
from shared.settings import Settings
from tests.auth.support import PASSWORD
from tests.browser.conftest import SETUP_TOKEN, screenshot, watched_tab
from tests.embedded.test_embedded_mode import free_port
from tests.factories import make_user

PORT = free_port()
ORIGIN = f"http://localhost:{PORT}"


@pytest.fixture(scope="module")
def server_runtime(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runtime]:
    options = settings.model_copy(
        update={
            "dev_codes": True,
            "setup_token": SecretStr(SETUP_TOKEN),
            "data_dir": tmp_path_factory.mktemp("console-data"),
            "token_issuer": ORIGIN,
        }
    )
    runtime = Runtime(options)
    start_embedded_consumer(runtime)
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def base_url(server_runtime: Runtime) -> Iterator[str]:
    config = uvicorn.Config(
        create_embedded_app(server_runtime), host="127.0.0.1", port=PORT, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="mfa-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield ORIGIN
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture
def person(admin: Any) -> dict[str, Any]:
    return make_user(admin, name="Katherine Johnson", password=PASSWORD)


@pytest.fixture
def tab(browser: Browser, base_url: str) -> Iterator[Page]:
    with watched_tab(browser, base_url) as page:
        yield page


def virtual_authenticator(page: Page) -> tuple[CDPSession, str]:
    """A platform authenticator with user verification, as a phone or laptop has."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    answer = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, answer["authenticatorId"]


def password_step(page: Page, login: str) -> None:
    page.goto("/account")
    expect(page.locator("h1")).to_have_text("Sign in to your account")
    form = page.locator("#password-form")
    form.locator("input[name=login]").fill(login)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()


def signed_out(page: Page) -> None:
    page.locator("#sign-out-form button").click()
    expect(page.locator("h1")).to_have_text("Sign in to your account")


def test_an_authenticator_app_from_enrolment_to_sign_in(tab: Page, person):
    password_step(tab, person["email"])
    expect(tab.locator("h1")).to_have_text("Your account")
    tab.locator("#totp-start-form button").click()
    expect(tab.locator("#totp-qr")).to_be_visible()
    secret = tab.locator("#totp-secret").inner_text().replace(" ", "")
    generator = pyotp.TOTP(secret)
    tab.locator("#totp-confirm-form input[name=code]").fill(generator.now())
    tab.locator("#totp-confirm-form button").click()
    expect(tab.locator("#account-notice")).to_have_text("Your authenticator app is set up.")
    expect(tab.locator("#recovery-codes li")).to_have_count(10)
    screenshot(tab, "account-totp-enrolled")
    signed_out(tab)

    password_step(tab, person["email"])
    expect(tab.locator("#second-totp")).to_be_visible()
    # The confirming code used the current step up; the next one is within the drift.
    tab.locator("#totp-form input[name=code]").fill(generator.generate_otp(current_step() + 1))
    tab.locator("#totp-form button").click()
    expect(tab.locator("h1")).to_have_text("Your account")
    expect(tab.locator("#totp")).to_contain_text("Set up.")


def test_passkeys_enrol_second_factor_passwordless_and_remove(tab: Page, person, server_runtime):
    cdp, authenticator = virtual_authenticator(tab)
    password_step(tab, person["email"])
    add = tab.locator("#passkey-add-form")
    add.locator("input[name=name]").fill("Virtual laptop")
    add.locator("button").click()
    expect(tab.locator("#account-notice")).to_have_text("Passkey “Virtual laptop” added.")
    expect(tab.locator("#passkeys tbody tr")).to_have_count(1)
    (credential,) = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})[
        "credentials"
    ]
    assert credential["isResidentCredential"] is True  # discoverable: passwordless works
    signed_out(tab)

    # As the second factor after the password.
    password_step(tab, person["email"])
    expect(tab.locator("#second-passkey")).to_be_visible()
    tab.locator("#passkey-second-form button").click()
    expect(tab.locator("h1")).to_have_text("Your account")
    signed_out(tab)

    # Alone: no password typed.
    tab.goto("/account")
    tab.locator("#passkey-form button").click()
    expect(tab.locator("h1")).to_have_text("Your account")
    expect(tab.locator("#account-user")).to_contain_text(person["name"])
    screenshot(tab, "account-passkey")
    with server_runtime.session_factory() as db:
        (row,) = (
            db.query(PasskeyCredential).filter_by(user_id=uuid.UUID(person["auth_user_id"])).all()
        )
        assert row.sign_count >= 2 and row.last_used_at is not None

    # Removed from the account page: the next sign-in is the password alone.
    tab.locator("#passkeys form[action='/account/passkeys/remove'] button").click()
    expect(tab.locator("#account-notice")).to_have_text("Passkey removed.")
    signed_out(tab)
    password_step(tab, person["email"])
    expect(tab.locator("h1")).to_have_text("Your account")


def test_a_passkey_whose_counter_went_back_is_refused(tab: Page, person, server_runtime):
    virtual_authenticator(tab)
    password_step(tab, person["email"])
    tab.locator("#passkey-add-form button").click()
    expect(tab.locator("#account-notice")).to_contain_text("added")
    signed_out(tab)
    with server_runtime.session_factory() as db:  # as if a copy had been used far more
        db.execute(
            update(PasskeyCredential)
            .where(PasskeyCredential.user_id == uuid.UUID(person["auth_user_id"]))
            .values(sign_count=10_000)
        )
        db.commit()
    tab.goto("/account")
    tab.locator("#passkey-form button").click()
    expect(tab.locator("#sign-in-error")).to_contain_text("its counter went back")
    assert re.search("Sign in to your account", tab.content())
