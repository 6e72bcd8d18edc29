"""CSV user import against the directory as it is: rows that clash with other users."""

from __future__ import annotations

from directory.imports import repository
from shared.models import UserAccount
from shared.sync_contract import compute_sync_hash
from tests.directory.test_import_support import counts, csv_bytes, refused, upload
from tests.factories import make_user


def test_conflicts_with_other_existing_users(admin, runtime):
    a = make_user(admin, email="a@example.com", mobile_number="+14155550111")
    make_user(admin, email="b@example.com", mobile_number="+14155550122", emp_id="E-B")
    rows = [
        ["A", "a@example.com", "+14155550122", "", ""],  # B's mobile on A's row
        ["A2", "new@example.com", "", "E-B", ""],  # B's employee ID on a new user
        ["A3", "", "+14155550111", "", ""],  # A again, matched by mobile
    ]
    before = counts(runtime)

    error = refused(upload(admin, csv_bytes(rows)), 422, "import_invalid")

    assert error["errors"] == [
        {
            "row": 2,
            "column": "mobile_number",
            "message": "This mobile number belongs to another user (b@example.com).",
        },
        {
            "row": 3,
            "column": "emp_id",
            "message": "This employee ID belongs to another user (b@example.com).",
        },
        {"row": 4, "column": "", "message": "Row 2 already updates this user."},
    ]
    assert counts(runtime) == before
    assert admin.get(f"/directory/users/{a['auth_user_id']}").json()["name"] == a["name"]


def test_an_administrator_cannot_remove_their_own_access(admin, admin_user):
    content = csv_bytes([["Ada", admin_user.email, "false"]], ["name", "email", "is_admin"])

    error = refused(upload(admin, content, allow_admin=True), 422, "import_invalid")

    assert error["errors"] == [
        {
            "row": 2,
            "column": "is_admin",
            "message": "You cannot remove your own administrator access.",
        }
    ]
    assert admin.get(f"/directory/users/{admin_user.id}").json()["is_admin"] is True


def test_employee_ids_clash_regardless_of_case(admin, runtime):
    make_user(admin, email="b@example.com", emp_id="E-7")
    before = counts(runtime)

    error = refused(
        upload(admin, csv_bytes([["N", "n@example.com", "", "e-7", ""]])), 422, "import_invalid"
    )

    assert error["errors"][0]["column"] == "emp_id"
    assert counts(runtime) == before


def test_a_clash_that_appears_while_writing_undoes_the_whole_import(admin, runtime, monkeypatch):
    """Another administrator creates a user between the check and the write."""
    insert_users = repository.insert_users

    def insert_after_a_rival(session, rows):
        fields = {"name": "Rival", "email": "user1@example.com", "status": "active"}
        with runtime.session_factory() as rival:
            rival.add(UserAccount(**fields, sync_hash=compute_sync_hash(fields)))
            rival.commit()
        insert_users(session, rows)

    monkeypatch.setattr(repository, "insert_users", insert_after_a_rival)
    rows = [[f"User {i}", f"user{i}@example.com", "", "", ""] for i in range(3)]

    error = refused(upload(admin, csv_bytes(rows)), 409, "import_conflict")

    assert "nothing was imported" in error["message"]
    assert counts(runtime)["user_account"] == 2  # the administrator and the rival
