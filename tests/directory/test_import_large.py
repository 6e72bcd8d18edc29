"""CSV user import at size: a test-sized version of the 100,000-row requirement.

Speed and memory are measured by bench/bench_import.py, not asserted here.
"""

from __future__ import annotations

from tests.directory.sync_support import get_sync
from tests.directory.test_import_support import HEADER, counts, csv_bytes, upload, user_by_email
from tests.factories import make_app_with_key, make_application

ROWS = 20_000


def people(start: int, stop: int, suffix: str = "") -> list[list[str]]:
    return [
        [
            f"Person {i}{suffix}",
            f"person{i}@example.com",
            f"+1415{2000000 + i}",
            f"E{i:06d}",
            "HR;Mail" if i % 2 else "Mail",
        ]
        for i in range(start, stop)
    ]


def big_file(rows: int) -> bytes:
    return csv_bytes(people(0, rows), HEADER)


def test_twenty_thousand_rows_in_one_request(admin, runtime):
    make_application(admin, name="HR")
    mail, key = make_app_with_key(admin, name="Mail")

    response = upload(admin, big_file(ROWS))

    assert response.status_code == 200, response.text
    assert response.json()["created"] == ROWS
    assert response.json()["assignments_added"] == ROWS + ROWS // 2
    assert counts(runtime) == {
        "user_account": ROWS + 1,  # and the signed-in administrator
        "assignment": ROWS + ROWS // 2,
        "sync_entry": ROWS + ROWS // 2,
    }
    sample = user_by_email(admin, "person12345@example.com")
    assert sample["name"] == "Person 12345"
    assert sample["mobile_number"] == "+14152012345"
    assert sample["emp_id"] == "E012345"
    assert sorted(a["name"] for a in sample["applications"]) == ["HR", "Mail"]
    synced = get_sync(admin, key, limit=1).json()
    assert synced["has_more"] is True and synced["application"]["id"] == mail["id"]


def test_twenty_thousand_rows_updated_and_unchanged(admin):
    make_application(admin, name="HR")
    make_application(admin, name="Mail")
    assert upload(admin, big_file(ROWS)).status_code == 200

    half_renamed = people(0, ROWS // 2, suffix=" Jr") + people(ROWS // 2, ROWS)
    response = upload(admin, csv_bytes(half_renamed, HEADER))

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (0, ROWS // 2, ROWS // 2)
    assert user_by_email(admin, "person42@example.com")["name"] == "Person 42 Jr"
    assert user_by_email(admin, "person15000@example.com")["name"] == "Person 15000"
