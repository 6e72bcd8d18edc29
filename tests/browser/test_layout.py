"""Every console page at a laptop's 1280x800 and a phone's 390x844: no sideways scrolling of
the page, and no two controls drawn over each other. Pages are found by following the
sidebar and the pages' own links (as tests/security/test_page_headers.py does), so a new
page is checked without being listed. Screenshots: test-output/screenshots/layout/."""

from __future__ import annotations

import shutil
from collections import deque
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from tests.auth.mfa_support import enrol_totp, make_recovery_codes
from tests.auth.test_passkeys import register_passkey
from tests.browser.conftest import SCREENSHOTS
from tests.browser.support import sign_in_with_password
from tests.console.support import make_admin
from tests.factories import make_app_with_key, make_user

VIEWPORTS = {"laptop": (1280, 800), "phone": (390, 844)}
MAX_PAGES = 40
# Links that download, sign out or leave the console are not pages to lay out.
NOT_PAGES = ("export.csv", "/sign-out", "/docs", "/console/")

# Visible controls whose boxes intersect, leaving out a control inside another (a checkbox
# in its label, a link's image) and 1 px of anti-aliasing.
OVERLAPS = """() => {
  const selector = "a[href], button, input:not([type=hidden]), select, textarea, summary";
  const boxes = [...document.querySelectorAll(selector)].filter((el) => {
    // checkVisibility: false inside a closed <details>, whose content keeps its boxes.
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && el.checkVisibility({ visibilityProperty: true });
  }).map((el) => [el, el.getBoundingClientRect()]);
  const name = (el) => `${el.tagName.toLowerCase()} "${(el.textContent || el.name || "").trim().slice(0, 30)}"`;
  const found = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, ra] = boxes[i], [b, rb] = boxes[j];
      if (a.contains(b) || b.contains(a)) continue;
      const x = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
      const y = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
      if (x > 1 && y > 1) found.push(`${name(a)} and ${name(b)}`);
    }
  }
  return found;
}"""
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"
# For the message: the innermost elements that reach past the right edge.
WIDEST = """() => [...document.querySelectorAll("body *")]
  .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
  .filter((el) => { for (let p = el.parentElement; p; p = p.parentElement) {
      if (["auto", "scroll", "hidden"].includes(getComputedStyle(p).overflowX)) return false; }
    return true; })
  .filter((el) => ![...el.children].some((c) => c.getBoundingClientRect().right > window.innerWidth + 1))
  .slice(0, 3).map((el) => `${el.tagName.toLowerCase()}.${el.className}`)"""
LINKS = """() => [...document.querySelectorAll("a[href]")].map((a) => a.getAttribute("href"))"""


def _pages(page: Page) -> list[str]:
    seen: list[str] = []
    queue = deque(["/setup"])
    while queue and len(seen) < MAX_PAGES:
        path = queue.popleft()
        if path in seen:
            continue
        page.goto(path)
        seen.append(path)
        for href in page.evaluate(LINKS):
            parts = urlsplit(href)
            if parts.netloc or not parts.path.startswith("/setup"):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if any(marker in target for marker in NOT_PAGES) or "offset=" in target:
                continue
            if target not in seen and target not in queue:
                queue.append(target)
    return seen


def _slug(path: str) -> str:
    return path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-") or "setup"


def test_every_page_fits_a_laptop_and_a_phone_without_overlapping_controls(
    page: Page, server_runtime, admin
):
    """With long names, so tables and facts must wrap or scroll inside their card."""
    signed_in = make_admin(server_runtime, name="Grace Hopper-Montgomery")
    app, _ = make_app_with_key(admin, name="Payroll and Expenses Reconciliation")
    make_user(
        admin,
        name="Maximilian Alexander Featherstonehaugh",
        email="maximilian.alexander.featherstonehaugh@subsidiary.example.com",
        applications=[app["id"]],
    )
    sign_in_with_password(page, signed_in.email)
    pages = _pages(page)
    assert len(pages) >= 12, pages  # the sections, Service setup's pages, the pages below
    shutil.rmtree(SCREENSHOTS / "layout", ignore_errors=True)  # no pages of an earlier run
    (SCREENSHOTS / "layout").mkdir(parents=True)
    problems: list[str] = []
    for device, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        for path in pages:
            page.goto(path)
            page.wait_for_load_state("load")
            page.screenshot(
                path=str(SCREENSHOTS / "layout" / f"{_slug(path)}-{device}.png"), full_page=True
            )
            overflow = page.evaluate(OVERFLOW)
            if overflow > 0:
                wide = ", ".join(page.evaluate(WIDEST))
                problems.append(f"{path} at {width}x{height}: {overflow} px too wide ({wide})")
            for pair in page.evaluate(OVERLAPS):
                problems.append(f"{path} at {width}x{height}: {pair} overlap")
    assert problems == [], "\n".join(problems)


def test_the_directory_table_fits_a_laptop_with_names_on_one_line(
    page: Page, server_runtime, admin
):
    signed_in = make_admin(server_runtime)
    long_name = "Maximilian Alexander Featherstonehaugh"
    user = make_user(
        admin,
        name=long_name,
        email="maximilian.featherstonehaugh@subsidiary.example.com",
        mfa_enabled=True,
    )
    # Every kind of second factor, so the MFA column is as wide as it gets.
    register_passkey(server_runtime, user["auth_user_id"])
    enrol_totp(server_runtime, user["auth_user_id"])
    make_recovery_codes(server_runtime, user["auth_user_id"])
    sign_in_with_password(page, signed_in.email)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/setup/directory")
    table = page.locator("#users-table")
    # Nothing of the table is hidden to the right: Sessions and Action are in view.
    assert table.evaluate("t => t.parentElement.scrollWidth - t.parentElement.clientWidth") <= 1
    row = table.locator("tbody tr", has_text=long_name)
    expect(row.locator("td.mfa")).to_have_text("on · passkey, app, recovery codes")
    page.screenshot(path=str(SCREENSHOTS / "directory-second-factors.png"))
    name_cell, email_cell = row.locator("td").nth(0), row.locator("td").nth(2)
    lines = name_cell.evaluate(
        """td => { const range = document.createRange(); range.selectNodeContents(td);
          return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size; }"""
    )
    assert lines == 1
    assert email_cell.is_visible()
    # A row's actions are one menu: closed, one control; open, Manage and Disable.
    menu = row.locator("details.menu")
    expect(menu.locator("summary")).to_have_text("Actions")
    expect(row.get_by_role("link", name="Manage")).to_be_hidden()
    menu.locator("summary").click()
    expect(row.get_by_role("link", name="Manage")).to_be_visible()
    expect(row.get_by_role("button", name="Disable")).to_be_visible()
