"""First-administrator setup with the setup token; password and OTP sign-in; sign-out."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import SETUP_TOKEN, screenshot
from tests.browser.support import sign_in_with_password
from tests.console.support import PASSWORD, make_admin


def test_first_admin_setup_then_password_sign_in(page):
    page.goto("/setup")
    expect(page.get_by_text("Local administrator access only.")).to_be_visible()
    expect(page.get_by_role("heading", name="Admin console sign-in")).to_be_visible()
    screenshot(page, "00-sign-in-and-first-admin")

    form = page.locator("#setup-form")
    form.get_by_label("Setup token").fill("not the token")
    form.get_by_label("Name").fill("Ada First")
    form.get_by_label("Email address").fill("ada.first@example.com")
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_label("Repeat the password").fill(PASSWORD)
    form.get_by_role("button", name="Create administrator").click()
    expect(page.locator("#setup-form .form-error")).to_be_visible()

    form = page.locator("#setup-form")
    form.get_by_label("Setup token").fill(SETUP_TOKEN)
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_label("Repeat the password").fill(PASSWORD)
    form.get_by_role("button", name="Create administrator").click()
    expect(page.get_by_text("Administrator created. Welcome to the console.")).to_be_visible()
    expect(page.get_by_text("Signed in as")).to_contain_text("Ada First")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("Signed out.")).to_be_visible()
    expect(page.locator("#setup-form")).to_have_count(0)  # an administrator exists now

    sign_in_with_password(page, "ada.first@example.com")
    screenshot(page, "01-service-setup")


def test_sign_in_with_otp(page, server_runtime):
    admin = make_admin(server_runtime, name="Otto Otp")
    page.goto("/setup")
    form = page.locator("#otp-form")
    form.get_by_label("Email address or mobile number").fill(admin.email)
    form.get_by_role("button", name="Send code").click()
    code = page.locator("#dev-code").inner_text()
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Verify and sign in").click()
    expect(page.get_by_role("heading", name="Service setup", exact=True)).to_be_visible()
    expect(page.get_by_text("Signed in as")).to_contain_text("Otto Otp")


def test_a_wrong_password_keeps_the_console_closed(page, server_runtime):
    admin = make_admin(server_runtime)
    page.goto("/setup")
    form = page.locator("#password-form")
    form.get_by_label("Email address or mobile number").fill(admin.email)
    form.get_by_label("Password").fill("wrong password")
    form.get_by_role("button", name="Sign in").click()
    expect(page.locator("#password-form .form-error")).to_be_visible()
    page.goto("/setup/directory")
    expect(page.get_by_text("Sign in to continue.")).to_be_visible()
