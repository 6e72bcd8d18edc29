"""CSV export of users: the import's columns, with formula-like cells escaped."""

from __future__ import annotations

import csv
import io

from shared.csv_export import escape_cell
from tests.factories import make_application, make_user


def exported(admin, **params) -> list[dict[str, str]]:
    response = admin.get("/directory/users/export.csv", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_export_has_import_columns_and_applications(admin):
    crm, hr = make_application(admin, name="CRM"), make_application(admin, name="HR, Payroll")
    make_user(
        admin, name="Ann", email="ann@example.com", emp_id="E1", applications=[crm["id"], hr["id"]]
    )
    rows = [r for r in exported(admin) if r["email"] == "ann@example.com"]
    assert rows == [
        {
            "name": "Ann",
            "mobile_number": "",
            "email": "ann@example.com",
            "emp_id": "E1",
            "applications": "CRM;HR, Payroll",
            "is_admin": "false",
            "status": "active",
        }
    ]


def test_formula_cells_are_escaped_but_stored_verbatim(admin):
    user = make_user(admin, name='=HYPERLINK("http://evil","x")', emp_id="+1-2")
    stored = admin.get(f"/directory/users/{user['auth_user_id']}").json()
    assert stored["name"] == '=HYPERLINK("http://evil","x")'
    row = next(r for r in exported(admin) if r["email"] == user["email"])
    assert row["name"] == '\'=HYPERLINK("http://evil","x")'
    assert row["emp_id"] == "'+1-2"


def test_export_filters_and_pages_through_many_users(admin):
    for i in range(25):
        make_user(admin, name=f"Bulk {i:02d}")
    make_user(admin, name="Someone Else")
    rows = exported(admin, q="Bulk")
    assert sorted(r["name"] for r in rows) == [f"Bulk {i:02d}" for i in range(25)]


def test_export_requires_an_admin(directory_client):
    response = directory_client.get("/directory/users/export.csv")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_escape_cell():
    assert escape_cell("=1+1") == "'=1+1"
    assert escape_cell("-2") == "'-2"
    assert escape_cell("@cmd") == "'@cmd"
    assert escape_cell("\tx") == "'\tx"
    assert escape_cell("plain") == "plain"
    assert escape_cell(None) == ""
