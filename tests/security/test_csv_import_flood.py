"""Hostile CSV imports: a million rows, broken encodings; refused whole, nothing written."""

from __future__ import annotations

import pytest

from tests.directory.test_import_support import HEADER, counts, refused, upload

ROWS = 1_000_000


def _write_million_rows(path) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(HEADER) + "\r\n")
        for i in range(ROWS):
            out.write(f"User {i},user{i}@example.com,,E-{i},\r\n")


def test_a_million_rows_are_refused_by_the_row_limit(admin, runtime, tmp_path):
    source = tmp_path / "million.csv"
    _write_million_rows(source)
    limit = runtime.settings.csv_max_rows
    assert limit < ROWS and source.stat().st_size < runtime.settings.csv_max_bytes
    before = counts(runtime)

    with source.open("rb") as upload:
        response = admin.post(
            "/directory/users/import", files={"file": ("users.csv", upload, "text/csv")}
        )

    error = refused(response, 413, "payload_too_large")
    assert error["message"] == f"The file has more than {limit} user rows."
    assert counts(runtime) == before


@pytest.mark.parametrize(
    ("content", "code"),
    [
        # What spreadsheet programs write as "Unicode text".
        ("name,email\r\nAnn,ann@example.com\r\n".encode("utf-16"), "bad_encoding"),
        (b"name,email\r\nA\xc0\xafn,ann@example.com\r\n", "bad_encoding"),  # overlong "/"
        (b"name,email\r\nA\xed\xa0\x80n,ann@example.com\r\n", "bad_encoding"),  # a surrogate
        (b"name,email\r\nAnn,ann@example.com\r\n\xff\xfe\xfd\r\n", "bad_encoding"),
    ],
)
def test_hostile_encodings_are_refused_whole(admin, runtime, content, code):
    before = counts(runtime)
    refused(upload(admin, content), 422, code)
    assert counts(runtime) == before
