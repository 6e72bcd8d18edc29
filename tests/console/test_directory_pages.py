"""Directory section: the user table with search, filters and paging; Create user; Import users."""

from __future__ import annotations

import html as html_lib
import re

from sqlalchemy import func, select

from shared.models import UserAccount
from tests.auth.mfa_support import enrol_totp, make_recovery_codes
from tests.auth.test_passkeys import register_passkey
from tests.console.support import flash_texts, post_form
from tests.factories import assign, make_application, make_user

COLUMNS = (
    "Name",
    "Mobile",
    "Email",
    "Employee ID",
    "Admin",
    "Applications",
    "Status",
    "MFA",
    "Devices",
    "Sessions",
    "Action",
)


def user_count(runtime) -> int:
    with runtime.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(UserAccount)) or 0)


def users_table(html: str) -> str:
    return html.split('id="users-table"')[1].split("</table>")[0]


def test_page_shows_the_seed_headings_and_columns(signed_in):
    html = signed_in.get("/setup/directory").text
    assert (
        "Create users, assign auth-service administrators, and review MFA flag, devices, and active sessions."
        in html
    )
    assert "<h2>Create user</h2>" in html and "<h2>Import users</h2>" in html
    assert "".join(f"<th>{c}</th>" for c in COLUMNS) in html


def test_create_a_user_with_applications(signed_in, admin, runtime):
    app = make_application(admin, name="Payroll")
    response = post_form(
        signed_in,
        "/setup/directory/users",
        {
            "name": "Lin Chen",
            "email": "lin@example.com",
            "mobile_number": "+1 202 555 0143",
            "emp_id": "E-7",
            "application_ids": [app["id"]],
            "mfa_enabled": "on",
        },
    )
    assert response.status_code == 303
    html = signed_in.get("/setup/directory").text
    assert "User Lin Chen created." in flash_texts(html)
    row = users_table(html)
    assert "lin@example.com" in row and "+12025550143" in row and "E-7" in row and "Payroll" in row


def test_create_user_error_is_shown_at_the_field_and_nothing_is_created(signed_in, admin, runtime):
    make_user(admin, name="Taken", email="taken@example.com")
    before = user_count(runtime)
    response = post_form(
        signed_in,
        "/setup/directory/users",
        {"name": "Copy", "email": "taken@example.com", "password": "secret"},
    )
    assert response.status_code == 409
    field = response.text.split('name="email"')[1].split("</div>")[0]
    assert 'class="field-error"' in field
    assert 'value="Copy"' in response.text and 'value="secret"' not in response.text
    assert user_count(runtime) == before


def test_search_filters_and_paging(signed_in, admin):
    app = make_application(admin, name="Ledger")
    for number in range(55):
        make_user(admin, name=f"Person {number:03d}", email=f"p{number:03d}@example.com")
    special = make_user(admin, name="Zed Special", email="zed@example.com", emp_id="Z-1")
    assign(admin, special["auth_user_id"], [app["id"]])

    first = signed_in.get("/setup/directory").text
    assert "1\u201350 of" in first and "offset=50" in first
    assert "51\u2013" in signed_in.get("/setup/directory?offset=50").text
    found = users_table(signed_in.get("/setup/directory?q=Z-1").text)
    assert "Zed Special" in found and "Person 001" not in found
    by_app = users_table(signed_in.get(f"/setup/directory?application_id={app['id']}").text)
    assert "Zed Special" in by_app and "Person" not in by_app
    admins = users_table(signed_in.get("/setup/directory?is_admin=true").text)
    assert "Grace Admin" in admins and "Person" not in admins


def test_import_with_a_bad_row_imports_nothing_and_lists_the_error(signed_in, runtime):
    before = user_count(runtime)
    csv = b"name,email,mobile_number\nAna,ana@example.com,\nBad Row,not-an-email,\n"
    response = post_form(
        signed_in,
        "/setup/directory/import",
        {"action": "import"},
        files={"file": ("people.csv", csv, "text/csv")},
    )
    assert response.status_code == 422
    errors = response.text.split('id="import-errors"')[1].split("</table>")[0]
    assert "<td>3</td>" in errors and "email" in errors
    assert user_count(runtime) == before


def test_import_preview_then_import(signed_in, runtime):
    csv = b"name,email\nAna,ana@example.com\nBo,bo@example.com\n"
    files = {"file": ("people.csv", csv, "text/csv")}
    preview = post_form(signed_in, "/setup/directory/import", {"action": "preview"}, files=files)
    assert preview.status_code == 200
    assert "2 to create" in preview.text and "Nothing has been written yet." in preview.text
    assert user_count(runtime) == 1  # only the signed-in administrator
    done = post_form(signed_in, "/setup/directory/import", {"action": "import"}, files=files)
    assert done.status_code == 303
    assert "Import done: 2 created, 0 updated, 0 unchanged." in flash_texts(
        signed_in.get("/setup/directory").text
    )
    assert user_count(runtime) == 3


def test_import_without_a_file(signed_in):
    response = post_form(signed_in, "/setup/directory/import", {"action": "preview"})
    assert response.status_code == 422
    assert "Choose a CSV file to import." in response.text


def test_export_relays_the_directory_csv(signed_in, admin):
    make_user(admin, name="Ana Export", email="ana.export@example.com")
    response = signed_in.get("/setup/directory/export.csv?q=Export")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.strip().splitlines()
    assert lines[0].startswith("name,") and len(lines) == 2 and "ana.export@example.com" in lines[1]


def test_disable_from_the_list(signed_in, admin, runtime):
    user = make_user(admin, name="Quick Disable")
    response = post_form(
        signed_in,
        f"/setup/directory/users/{user['auth_user_id']}/switch",
        {"field": "status", "value": "disabled", "back": "/setup/directory"},
    )
    assert response.status_code == 303 and response.headers["location"] == "/setup/directory"
    assert admin.get(f"/directory/users/{user['auth_user_id']}").json()["status"] == "disabled"


def test_the_mfa_column_names_each_users_enrolled_methods(signed_in, admin, runtime):
    strong = make_user(admin, name="Strong Factors", mfa_enabled=True)
    enrol_totp(runtime, strong["auth_user_id"])
    make_recovery_codes(runtime, strong["auth_user_id"])
    keyed = make_user(admin, name="Only A Passkey")
    register_passkey(runtime, keyed["auth_user_id"])
    plain = make_user(admin, name="No Factors")
    table = users_table(signed_in.get("/setup/directory").text)

    def mfa_cell(user) -> str:
        row = table.split(user["email"])[1].split("</tr>")[0]
        cell = row.split('<td class="mfa">')[1].split("</td>")[0]
        return html_lib.unescape(re.sub(r"<[^>]+>", "", cell))

    assert mfa_cell(strong) == "on · app, recovery codes"
    assert mfa_cell(keyed) == "off · passkey"  # the flag is off; the passkey is still asked for
    assert mfa_cell(plain) == "off"
