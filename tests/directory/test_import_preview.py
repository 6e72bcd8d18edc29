"""A dry run lists what each row would do (created, updated, unchanged, rejected) and why."""

from __future__ import annotations

from directory.imports import validation
from tests.directory.test_import_support import counts, csv_bytes, refused, upload
from tests.factories import make_application, make_user


def test_a_dry_run_lists_each_rows_outcome_and_reason(admin, runtime):
    make_application(admin, name="CRM")
    make_user(admin, name="Ann Lee", email="ann@example.com")
    make_user(admin, name="Bo Chen", email="bo@example.com")
    before = counts(runtime)
    rows = [
        ["Ann Lee", "ann@example.com", "+1 415 555 0101", "", "CRM"],  # new mobile, new app
        ["Bo Chen", "bo@example.com", "", "", ""],  # as stored
        ["Cy Diaz", "cy@example.com", "", "E-3", "CRM"],
    ]

    response = upload(admin, csv_bytes(rows), dry_run=True)

    assert response.status_code == 200, response.text
    body = response.json()
    assert [(r["row"], r["action"], r["user"]) for r in body["rows"]] == [
        (2, "updated", "ann@example.com"),
        (3, "unchanged", "bo@example.com"),
        (4, "created", "cy@example.com"),
    ]
    updated, unchanged, created = (r["reason"] for r in body["rows"])
    assert updated == "mobile number changed; assigns CRM"
    assert unchanged == "already as in the directory"
    assert created == "new user; assigns CRM"
    assert body["rows_truncated"] is False
    assert (body["created"], body["updated"], body["unchanged"]) == (1, 1, 1)
    assert counts(runtime) == before


def test_a_refused_dry_run_says_which_rows_are_rejected_and_why_beside_the_others(admin, runtime):
    make_user(admin, name="Ann Lee", email="ann@example.com", emp_id="E-1")
    before = counts(runtime)
    rows = [
        ["Cy Diaz", "cy@example.com", "", "", ""],
        ["", "not-an-email", "", "", "Nope"],
        ["Di Ek", "di@example.com", "", "E-1", ""],  # Ann's employee ID
    ]

    error = refused(upload(admin, csv_bytes(rows), dry_run=True), 422, "import_invalid")

    outcomes = {r["row"]: (r["action"], r["user"], r["reason"]) for r in error["rows"]}
    assert outcomes[2] == ("created", "cy@example.com", "new user")
    action, who, reason = outcomes[3]
    assert (action, who) == ("rejected", "not-an-email")
    assert "name: A name is required." in reason and "email address: Invalid email" in reason
    assert "applications: Unknown application: Nope." in reason
    assert outcomes[4][0:2] == ("rejected", "di@example.com")
    assert (
        outcomes[4][2] == "employee ID: This employee ID belongs to another user (ann@example.com)."
    )
    assert len(error["errors"]) == 4  # the errors list is as before
    assert counts(runtime) == before


def test_a_real_import_lists_no_rows(admin):
    response = upload(admin, csv_bytes([["Cy", "cy@example.com", "", "", ""]]))
    assert response.status_code == 200 and response.json()["rows"] == []


def test_the_preview_of_a_long_file_stops_at_its_limit_and_says_so(admin, monkeypatch):
    monkeypatch.setattr(validation, "MAX_PREVIEW_ROWS", 3)
    rows = [[f"User {n}", f"u{n}@example.com", "", "", ""] for n in range(5)]

    body = upload(admin, csv_bytes(rows), dry_run=True).json()

    assert [r["row"] for r in body["rows"]] == [2, 3, 4]
    assert body["rows_truncated"] is True and body["created"] == 5
