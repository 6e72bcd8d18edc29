"""Forms in Chromium: a missing choice is said under its field; an import previewed once is
imported without choosing the file again."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import func, select

from shared.models import ApiKey, UserAccount
from tests.browser.support import open_section, sign_in_with_password
from tests.console.support import make_admin


def count(runtime, model) -> int:
    with runtime.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_missing_application_is_said_under_the_picker(page, server_runtime):
    admin = make_admin(server_runtime)
    sign_in_with_password(page, admin.email)
    open_section(page, "Applications")
    keys = count(server_runtime, ApiKey)

    page.get_by_role("button", name="Request API auth key").click()

    picker = page.locator("#key-form select[name=application_id]")
    message = page.locator("#key-form .field-error")
    expect(message).to_have_text("Choose an application.")
    expect(message).to_be_visible()
    expect(picker).to_have_attribute("aria-invalid", "true")
    expect(picker).to_be_focused()
    assert count(server_runtime, ApiKey) == keys  # nothing was sent


def test_a_previewed_import_needs_no_second_pick_of_the_file(page, server_runtime):
    admin = make_admin(server_runtime)
    sign_in_with_password(page, admin.email)
    open_section(page, "Directory")
    before = count(server_runtime, UserAccount)
    page.locator("#import-form input[type=file]").set_input_files(
        files=[
            {
                "name": "team.csv",
                "mimeType": "text/csv",
                "buffer": b"name,email\nIra Kent,ira@example.com\nJo Lund,jo@example.com\n",
            }
        ]
    )
    page.get_by_role("button", name="Preview (dry run)").click()
    expect(page.locator("#import-preview")).to_contain_text("2 to create")
    expect(page.locator("#import-rows tbody tr")).to_have_count(2)
    expect(page.locator("#import-rows")).to_contain_text("ira@example.com")
    expect(page.locator("#kept-file")).to_contain_text("team.csv")
    assert count(server_runtime, UserAccount) == before

    page.get_by_role("button", name="Import", exact=True).click()  # no file chosen again

    expect(page.get_by_text("Import done: 2 created, 0 updated, 0 unchanged.")).to_be_visible()
    assert count(server_runtime, UserAccount) == before + 2
