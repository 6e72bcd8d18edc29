"""The console and second factors in Chromium: an administrator signs in with the code of
their authenticator app (pyotp computes it from the enrolled secret) or a code by email
instead, and resets a user's second factors after confirming."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.auth.mfa_support import enrol_totp, make_recovery_codes
from tests.auth.test_passkeys import register_passkey
from tests.browser.conftest import screenshot
from tests.browser.support import sign_in_with_password
from tests.console.support import PASSWORD, make_admin
from tests.factories import make_user


def _password_step(page: Page, login: str) -> None:
    page.goto("/setup")
    form = page.locator("#password-form")
    form.get_by_label("Email address or mobile number").fill(login)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Second step: your second factor")).to_be_visible()


def test_sign_in_with_the_authenticator_app(page: Page, server_runtime):
    admin = make_admin(server_runtime, name="Tess Totp")
    generator = enrol_totp(server_runtime, str(admin.id))
    _password_step(page, admin.email or "")
    expect(page.get_by_text("Signed in as")).to_have_count(0)
    screenshot(page, "second-step")

    wrong = f"{(int(generator.now()) + 1) % 10**6:06d}"
    page.get_by_label("Authenticator app code").fill(wrong)
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page.locator("#totp-form .form-error")).to_have_text(
        "The code is incorrect or was already used."
    )
    page.get_by_label("Authenticator app code").fill(generator.now())
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page.get_by_role("heading", name="Service setup", exact=True)).to_be_visible()
    expect(page.get_by_text("Signed in as")).to_contain_text("Tess Totp")


def test_a_code_by_email_instead_of_the_app(page: Page, server_runtime):
    admin = make_admin(server_runtime, name="Elle Email")
    enrol_totp(server_runtime, str(admin.id))
    _password_step(page, admin.email or "")
    page.get_by_role("button", name="Send a code by SMS or email instead").click()
    code = page.locator("#dev-code").inner_text()  # dev codes are on for this server
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page.get_by_text("Signed in as")).to_contain_text("Elle Email")


def test_reset_a_users_second_factors_after_confirming(page: Page, server_runtime, admin):
    signed_in = make_admin(server_runtime)
    user = make_user(admin, name="Lost Phone", mfa_enabled=True)
    enrol_totp(server_runtime, user["auth_user_id"])
    make_recovery_codes(server_runtime, user["auth_user_id"])
    register_passkey(server_runtime, user["auth_user_id"])
    sign_in_with_password(page, signed_in.email or "")
    page.goto(f"/setup/directory/users/{user['auth_user_id']}")
    card = page.locator("#second-factors")
    expect(card.locator("#totp-state")).to_have_text("on")
    expect(card.locator("#recovery-codes-left")).to_have_text("10")
    expect(card.locator("#passkeys-table tbody tr")).to_contain_text("Test key")

    with page.expect_event("dialog") as asked:  # the tab accepts every dialog
        card.get_by_role("button", name="Reset second factors").click()
    assert asked.value.message.startswith("Reset the second factors of Lost Phone?")
    expect(page.get_by_role("status")).to_have_text(
        "Second factors reset: the authenticator app, 1 passkey and the recovery codes "
        "removed; 0 sessions ended."
    )
    card = page.locator("#second-factors")
    expect(card.locator("#totp-state")).to_have_text("off")
    expect(card.locator("#recovery-codes-left")).to_have_text("0")
    expect(card.get_by_text("No passkeys.")).to_be_visible()
    expect(card.get_by_role("button", name="Reset second factors")).to_be_disabled()
    screenshot(page, "second-factors-reset")
