"""Applications, Directory, OTP providers: the flows an administrator runs from the console."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import func, select

from shared.models import UserAccount
from tests.browser.conftest import screenshot
from tests.browser.support import open_section, sign_in_with_password
from tests.console.support import make_admin
from tests.otp_delivery.sinks import HttpSink


def user_count(runtime) -> int:
    with runtime.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(UserAccount)) or 0)


def register(page, name: str, networks: str) -> None:
    form = page.locator("#register-form")
    form.get_by_label("Application name").fill(name)
    form.get_by_label("Allowed IPs / CIDRs").fill(networks)
    form.get_by_role("button", name="Register application").click()
    expect(page.get_by_text(f"Application {name} registered.")).to_be_visible()


def test_register_an_application_and_see_its_key_once(page, server_runtime):
    admin = make_admin(server_runtime)
    sign_in_with_password(page, admin.email)
    open_section(page, "Applications")

    allowed = page.locator("#register-form").get_by_label("Allowed IPs / CIDRs")
    allowed.fill("10.0.0.0/8\n10.1.2.300")
    expect(page.locator("[data-live-error]")).to_have_text(
        "'10.1.2.300' is not a valid IPv4/IPv6 address or CIDR."
    )
    register(page, "Payroll", "10.0.0.0/8\n2001:db8::/32")
    row = page.locator("#applications-table tbody tr", has_text="Payroll")
    expect(row).to_contain_text("10.0.0.0/8")
    expect(row).to_contain_text("2001:db8::/32")
    expect(row).to_contain_text("active")

    page.locator("#key-form select").select_option(label="Payroll")
    page.get_by_role("button", name="Request API auth key").click()
    key = page.locator("#new-key-value").inner_text()
    assert re.fullmatch(r"ask_\S{20,}", key)
    expect(page.get_by_text("It will not be shown again")).to_be_visible()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied")).to_be_visible()
    screenshot(page, "02-applications-new-key")

    open_section(page, "Applications")
    expect(page.locator("#new-key-value")).to_have_count(0)
    assert key not in page.content()
    expect(page.locator("#keys-table tbody tr", has_text="Payroll")).to_contain_text("never")


def test_create_import_and_assign_users(page, server_runtime):
    admin = make_admin(server_runtime)
    sign_in_with_password(page, admin.email)
    open_section(page, "Applications")
    register(page, "Ledger", "192.0.2.0/24")
    open_section(page, "Directory")

    form = page.locator("#create-user-form")
    form.get_by_label("Name").fill("Lin Chen")
    form.get_by_label("Email address").fill("lin@example.com")
    form.get_by_label("Employee ID").fill("E-7")
    form.get_by_role("button", name="Create user").click()
    expect(page.get_by_text("User Lin Chen created.")).to_be_visible()
    expect(page.locator("#users-table tbody tr", has_text="Lin Chen")).to_contain_text("E-7")

    before = user_count(server_runtime)
    page.locator("#import-form input[type=file]").set_input_files(
        files=[
            {
                "name": "people.csv",
                "mimeType": "text/csv",
                "buffer": b"name,email\nAna,ana@example.com\nBad Row,not-an-email\n",
            }
        ]
    )
    page.get_by_role("button", name="Import", exact=True).click()
    errors = page.locator("#import-errors")
    expect(errors).to_contain_text("Nothing was imported.")
    expect(errors.locator("tbody tr")).to_have_count(1)
    expect(errors).to_contain_text("email")
    assert user_count(server_runtime) == before
    screenshot(page, "03-directory-import-error")

    lin = page.locator("#users-table tbody tr", has_text="Lin Chen")
    lin.get_by_text("Actions").click()  # a row's actions are in one menu
    lin.get_by_role("link", name="Manage").click()
    page.locator("#assign-form").get_by_label("Ledger").check()
    page.get_by_role("button", name="Save assignments").click()
    expect(page.get_by_text("Applications assigned.")).to_be_visible()
    open_section(page, "Directory")
    expect(page.locator("#users-table tbody tr", has_text="Lin Chen")).to_contain_text("Ledger")
    screenshot(page, "04-directory")


def test_configure_sms_and_send_a_test_sms(page, server_runtime):
    admin = make_admin(server_runtime)
    sink = HttpSink()
    try:
        sign_in_with_password(page, admin.email)
        open_section(page, "OTP providers")
        form = page.locator("#sms-form")
        form.locator("select[name='sms.provider']").select_option("generic_api")
        form.locator("input[name='generic_api.url']").fill(sink.url)
        form.locator("input[name='generic_api.auth_header_value']").fill("Bearer sms-secret")
        form.get_by_role("button", name="Save SMS settings").click()
        expect(page.get_by_text("SMS delivery settings saved.")).to_be_visible()
        assert "sms-secret" not in page.content()

        test = page.locator("#test-sms-form")
        test.get_by_label("Mobile number").fill("+12025550143")
        test.get_by_role("button", name="Send test SMS").click()
        expect(page.locator("#test-outcome")).to_contain_text("SMS sent")
        assert len(sink.requests) == 1
        expect(page.locator("#deliveries tbody tr").first).to_contain_text("sent")
        screenshot(page, "05-otp-providers")
    finally:
        sink.stop()
