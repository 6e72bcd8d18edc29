"""CSV user import: bad files and bad rows are refused whole, with nothing written."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from directory.imports.reader import CsvUpload
from shared.errors import PayloadTooLarge
from shared.runtime import Runtime
from shared.settings import Settings
from shared.tokens import CONSOLE_AUDIENCE
from tests.directory.test_import_support import HEADER, counts, csv_bytes, refused, upload
from tests.factories import make_application, make_user


@pytest.fixture
def csv_limits(runtime: Runtime) -> Iterator[Settings]:
    """The service's settings, with csv_max_rows/csv_max_bytes restored after the test."""
    saved = (runtime.settings.csv_max_rows, runtime.settings.csv_max_bytes)
    yield runtime.settings
    runtime.settings.csv_max_rows, runtime.settings.csv_max_bytes = saved


def good_rows(n: int) -> list[list[str]]:
    return [[f"User {i}", f"user{i}@example.com", "", f"E-{i}", ""] for i in range(n)]


def test_one_bad_row_among_many_refuses_the_whole_file(admin, runtime):
    rows = good_rows(50)
    rows[36][1] = "not-an-email"  # spreadsheet row 38: header is row 1
    before = counts(runtime)

    error = refused(upload(admin, csv_bytes(rows)), 422, "import_invalid")

    assert error["error_count"] == 1
    (problem,) = error["errors"]
    assert (problem["row"], problem["column"]) == (38, "email")
    assert problem["message"].startswith("Invalid email address: ")
    assert error["message"] == "1 problem in the file; nothing was imported."
    assert counts(runtime) == before


def test_dry_run_reports_the_same_errors(admin, runtime):
    rows = [*good_rows(2), ["", "x@example.com", "", "", ""]]

    error = refused(upload(admin, csv_bytes(rows), dry_run=True), 422, "import_invalid")

    assert error["errors"] == [{"row": 4, "column": "name", "message": "A name is required."}]


def test_row_errors_name_row_column_and_reason(admin, runtime):
    make_application(admin, name="CRM")
    rows = [
        ["Ann", "ann@example.com", "", "", "CRM;Nope"],
        ["Bo", "", "", "E-2", ""],
        ["Cy", "ANN@example.com", "12", "", ""],
        ["Di", "di@example.com", "", "x" * 65, ""],
        ["Ed", "ed@example.com", "", "", "", "extra"],
    ]

    error = refused(upload(admin, csv_bytes(rows)), 422, "import_invalid")

    assert error["errors"] == [
        {"row": 2, "column": "applications", "message": "Unknown application: Nope."},
        {
            "row": 3,
            "column": "email",
            "message": "A user needs an email address or a mobile number.",
        },
        {"row": 4, "column": "email", "message": "The same email address is also in row 2."},
        {"row": 4, "column": "mobile_number", "message": "Invalid mobile number."},
        {"row": 5, "column": "emp_id", "message": "Use at most 64 characters."},
        {"row": 6, "column": "", "message": "This row has more cells than the header row."},
    ]
    assert error["error_count"] == 6
    assert counts(runtime)["user_account"] == 1  # the signed-in administrator


def test_errors_are_capped_but_counted(admin):
    rows = [[f"U{i}", f"bad-{i}", "", "", ""] for i in range(1200)]

    error = refused(upload(admin, csv_bytes(rows)), 422, "import_invalid")

    assert error["error_count"] == 1200
    assert len(error["errors"]) == 1000
    assert error["errors"][-1]["row"] == 1001


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "empty_file"),
        (b"\xef\xbb\xbf", "empty_file"),
        (b"name,email\r\n", "empty_file"),
        (b"name,email\r\n,\r\n\r\n", "empty_file"),
        (b"Ann,ann@example.com\r\n", "missing_columns"),  # no header row
        (b"email,mobile_number\r\nann@example.com,\r\n", "missing_columns"),
        (b"name,emp_id\r\nAnn,E-1\r\n", "missing_columns"),
        (b"name,email,Email\r\nAnn,a@example.com,b@example.com\r\n", "bad_header"),
        ("name,email\r\nJosé,jose@example.com\r\n".encode("latin-1"), "bad_encoding"),
    ],
)
def test_unreadable_files(admin, runtime, content, code):
    before = counts(runtime)

    error = refused(upload(admin, content), 422, code)

    assert error["message"]
    assert counts(runtime) == before


def test_blank_rows_keep_their_spreadsheet_numbers(admin):
    content = b'name,email\r\nAnn,ann@example.com\r\n,\r\n\r\n"Bo\nBo",bad\r\nCy,\r\n'

    error = refused(upload(admin, content), 422, "import_invalid")

    # Row 5's quoted name spans two lines (and a line break in a name is refused).
    assert [(e["row"], e["column"]) for e in error["errors"]] == [
        (5, "name"),
        (5, "email"),
        (6, "email"),
    ]


def test_broken_quoting_names_the_row(admin):
    content = b'name,email\r\nAnn,ann@example.com\r\n"Bo,bo@example.com\r\n'

    error = refused(upload(admin, content), 422, "bad_csv")

    assert error["row"] == 3
    assert error["message"].startswith("Row 3 is not valid CSV: ")


def test_bad_encoding_deep_in_a_large_file(admin, runtime):
    content = csv_bytes(good_rows(500)) + "Zoë,zoe@example.com,,,\r\n".encode("cp1252")
    before = counts(runtime)

    error = refused(upload(admin, content), 422, "bad_encoding")

    assert "UTF-8" in error["message"]
    assert counts(runtime) == before


def test_missing_file_field(admin):
    response = admin.post("/directory/users/import")
    refused(response, 422, "validation_error")


def test_too_many_rows(admin, runtime, csv_limits):
    csv_limits.csv_max_rows = 5
    before = counts(runtime)

    error = refused(upload(admin, csv_bytes(good_rows(6))), 413, "payload_too_large")

    assert error["message"] == "The file has more than 5 user rows."
    assert counts(runtime) == before
    assert upload(admin, csv_bytes(good_rows(5))).status_code == 200


def test_too_many_bytes(admin, runtime, csv_limits):
    csv_limits.csv_max_bytes = 2048
    before = counts(runtime)

    error = refused(upload(admin, csv_bytes(good_rows(100))), 413, "payload_too_large")

    assert error["message"] == "The file is larger than 2048 bytes."
    assert counts(runtime) == before


def test_needs_an_administrator(directory_client, admin, runtime):
    user = make_user(admin)
    token, _ = runtime.tokens.mint(
        subject=user["auth_user_id"], audience=CONSOLE_AUDIENCE, ttl_seconds=60
    )
    content = csv_bytes(good_rows(1), HEADER)
    files = {"file": ("users.csv", content, "text/csv")}
    saved = directory_client.headers.pop("Authorization")
    try:
        anonymous = directory_client.post("/directory/users/import", files=files)
        refused(anonymous, 401, "unauthorized")
        headers = {"Authorization": f"Bearer {token}"}
        not_admin = directory_client.post("/directory/users/import", files=files, headers=headers)
        refused(not_admin, 403, "not_admin")
    finally:
        directory_client.headers["Authorization"] = saved
    assert counts(runtime)["user_account"] == 2


def test_control_characters_in_names_and_employee_ids(admin, runtime):
    rows = [*good_rows(2), ["Esc\x1b[2J", "esc@example.com", "", "E\x00X", ""]]
    before = counts(runtime)

    error = refused(upload(admin, csv_bytes(rows)), 422, "import_invalid")

    assert [(e["row"], e["column"]) for e in error["errors"]] == [(4, "name"), (4, "emp_id")]
    assert "control characters" in error["errors"][0]["message"]
    assert counts(runtime) == before


def test_a_file_over_the_row_limit_is_refused_before_any_row_is_checked():
    """A quick first pass counts the rows, so a huge file costs no row checks at all."""
    with pytest.raises(PayloadTooLarge, match="more than 5 user rows"):
        CsvUpload(
            io.BytesIO(csv_bytes(good_rows(6))), max_bytes=10**6, max_rows=5, allow_admin=False
        )
    blank_row = [["", "", "", "", ""]]
    fits = CsvUpload(
        io.BytesIO(csv_bytes(good_rows(2) + blank_row + good_rows(3))),
        max_bytes=10**6,
        max_rows=5,
        allow_admin=False,
    )
    assert [row for row, _ in fits.rows()] == [2, 3, 5, 6, 7]  # the blank row 4 is no user
    assert fits.header.positions["email"] == 1
