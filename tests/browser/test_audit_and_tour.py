"""The audit log shows what the console did; purge; and a screenshot of every section."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.support import open_section, sign_in_with_password
from tests.console.support import make_admin

SECTIONS = (
    "Service setup",
    "Applications",
    "Console access",
    "OTP providers",
    "Directory",
    "API docs",
    "System documentation",
    "Audit log",
)


def wait_for_event(page, event_type: str) -> None:
    """The audit consumer stores events a moment after they happen: reload until shown."""
    for _ in range(50):
        page.goto("/setup/audit")
        if page.locator("#audit-table tbody tr", has_text=event_type).count():
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"{event_type} never reached the audit log")


def test_audit_log_shows_the_console_actions_and_purges(page, server_runtime):
    admin = make_admin(server_runtime)
    sign_in_with_password(page, admin.email)
    open_section(page, "Applications")
    form = page.locator("#register-form")
    form.get_by_label("Application name").fill("Audited")
    form.get_by_label("Allowed IPs / CIDRs").fill("127.0.0.1")
    form.get_by_role("button", name="Register application").click()
    page.locator("#key-form select").select_option(label="Audited")
    page.get_by_role("button", name="Request API auth key").click()
    expect(page.locator("#new-key-value")).to_be_visible()

    for event in ("login.succeeded", "admin.application.created", "admin.api_key.created"):
        wait_for_event(page, event)
    row = page.locator("#audit-table tbody tr", has_text="admin.application.created").first
    row.locator("summary").click()
    expect(row).to_contain_text("Effective IP")
    expect(row).to_contain_text("127.0.0.1")
    screenshot(page, "06-audit-log")

    purge = page.locator("#purge-form")
    purge.get_by_label("Older than (days)").fill("0")
    purge.get_by_label("I understand").check()
    purge.get_by_role("button", name="Purge audit history").click()  # the dialog is accepted
    expect(page.get_by_text("(all audit history).")).to_be_visible()
    wait_for_event(page, "audit.purged")
    expect(
        page.locator("#audit-table tbody tr", has_text="admin.application.created")
    ).to_have_count(0)


def test_every_section_renders_without_script_or_policy_errors(page, server_runtime):
    admin = make_admin(server_runtime)
    sign_in_with_password(page, admin.email)
    for number, title in enumerate(SECTIONS, start=10):
        open_section(page, title)
        slug = title.lower().replace(" ", "-")
        screenshot(page, f"{number}-{slug}")
