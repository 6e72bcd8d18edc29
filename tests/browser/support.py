"""Steps the browser tests share."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.console.support import PASSWORD


def sign_in_with_password(page: Page, login: str, password: str = PASSWORD) -> None:
    page.goto("/setup")
    form = page.locator("#password-form")
    form.get_by_label("Email address or mobile number").fill(login)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Service setup", exact=True)).to_be_visible()


def open_section(page: Page, title: str) -> None:
    page.get_by_role("navigation", name="Sections").get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", level=1, name=title, exact=True)).to_be_visible()
