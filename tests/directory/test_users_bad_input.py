"""Directory users: bad input gets a clear 4xx in the envelope and changes nothing."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from shared.models import UserAccount
from tests.factories import make_user


def user_rows(runtime) -> list[tuple]:
    with runtime.session_factory() as session:
        return list(
            session.execute(
                select(
                    UserAccount.id,
                    UserAccount.name,
                    UserAccount.email,
                    UserAccount.mobile_number,
                    UserAccount.emp_id,
                    UserAccount.status,
                    UserAccount.sync_hash,
                ).order_by(UserAccount.id)
            )
        )


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "validation_error"),
        ({"name": ""}, "validation_error"),
        ({"name": 42, "email": "a@example.com"}, "validation_error"),
        ({"name": "x" * 201, "email": "a@example.com"}, "validation_error"),
        ({"name": "No Contact"}, "contact_required"),
        ({"name": "Bad Email", "email": "not-an-email"}, "validation_error"),
        ({"name": "Bad Mobile", "mobile_number": "12"}, "validation_error"),
        ({"name": "Bad Status", "email": "s@example.com", "status": "gone"}, "validation_error"),
        ({"name": "Extra", "email": "e@example.com", "role": "root"}, "validation_error"),
        ({"name": "Weak", "email": "w@example.com", "password": "short"}, "weak_password"),
        (
            {"name": "No App", "email": "n@example.com", "application_ids": [str(uuid.uuid4())]},
            "unknown_application",
        ),
    ],
)
def test_create_rejects_bad_input(admin, runtime, body, code):
    before = user_rows(runtime)
    assert_error(admin.post("/directory/users", json=body), 422, code)
    assert user_rows(runtime) == before


def test_bad_email_names_the_field(admin):
    error = assert_error(
        admin.post("/directory/users", json={"name": "X", "email": "nope"}), 422, "validation_error"
    )
    assert error["field"] == "email"


@pytest.mark.parametrize("field", ["email", "mobile_number", "emp_id"])
def test_duplicates_conflict_naming_the_field(admin, runtime, field):
    values = {"email": "dup@example.com", "mobile_number": "+14155550177", "emp_id": "DUP-1"}
    make_user(admin, **{field: values[field]})
    before = user_rows(runtime)
    other = {"name": "Second", "email": "second@example.com", field: values[field]}
    error = assert_error(admin.post("/directory/users", json=other), 409, "duplicate")
    assert error["field"] == field
    assert user_rows(runtime) == before


def test_duplicate_email_differs_only_in_case(admin):
    make_user(admin, email="case@example.com")
    response = admin.post("/directory/users", json={"name": "C", "email": "CASE@example.com"})
    assert_error(response, 409, "duplicate")


def test_edit_to_another_users_email_conflicts(admin, runtime):
    make_user(admin, email="taken@example.com")
    user = make_user(admin)
    before = user_rows(runtime)
    response = admin.patch(
        f"/directory/users/{user['auth_user_id']}", json={"email": "taken@example.com"}
    )
    assert_error(response, 409, "duplicate")
    assert user_rows(runtime) == before


@pytest.mark.parametrize(
    "body",
    [
        {"status": None},
        {"name": None},
        {"email": "bad"},
        {"email": ""},  # would leave the user with no contact
        {"is_admin": "maybe"},
        {"unknown": 1},
    ],
)
def test_edit_rejects_bad_input(admin, runtime, body):
    user = make_user(admin)
    before = user_rows(runtime)
    response = admin.patch(f"/directory/users/{user['auth_user_id']}", json=body)
    assert 400 <= response.status_code < 500
    assert set(response.json()) == {"error"}
    assert user_rows(runtime) == before


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_unknown_user_is_404(admin, method):
    path = f"/directory/users/{uuid.uuid4()}"
    response = admin.request(method.upper(), path, json={} if method == "patch" else None)
    assert_error(response, 404, "user_not_found")


def test_malformed_user_id_is_422(admin):
    assert_error(admin.get("/directory/users/not-a-uuid"), 422, "validation_error")


def test_admin_cannot_lock_themselves_out(admin, admin_user, runtime):
    path = f"/directory/users/{admin_user.id}"
    assert_error(admin.patch(path, json={"status": "disabled"}), 422, "self_lockout")
    assert_error(admin.patch(path, json={"is_admin": False}), 422, "self_lockout")
    assert_error(admin.delete(path), 422, "self_lockout")
    with runtime.session_factory() as session:
        me = session.get(UserAccount, admin_user.id)
        assert me.is_admin and me.status == "active"


def test_list_rejects_bad_paging(admin):
    assert_error(admin.get("/directory/users", params={"limit": 0}), 422, "validation_error")
    assert_error(admin.get("/directory/users", params={"limit": 501}), 422, "validation_error")
    assert_error(admin.get("/directory/users", params={"offset": -1}), 422, "validation_error")
    assert_error(admin.get("/directory/users", params={"status": "x"}), 422, "validation_error")


def test_count_unchanged_after_rejections(admin, runtime):
    with runtime.session_factory() as session:
        before = session.scalar(select(func.count()).select_from(UserAccount))
    admin.post("/directory/users", json={"name": "x"})
    admin.post(
        "/directory/users", content=b"not json", headers={"content-type": "application/json"}
    )
    with runtime.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(UserAccount)) == before


@pytest.mark.parametrize(
    "name", ["A\x00nn", "Eve\x1b[31m", "Line\nBreak", "Tab\there", "Sep\u2028x"]
)
def test_control_characters_in_names_are_refused(admin, runtime, name):
    before = user_rows(runtime)
    error = assert_error(
        admin.post("/directory/users", json={"name": name, "email": "cc@example.com"}),
        422,
        "validation_error",
    )
    assert "control characters" in error["message"]
    assert user_rows(runtime) == before
