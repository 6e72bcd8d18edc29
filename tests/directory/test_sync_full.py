"""`GET /users/sync` without a cursor: the calling application's full set of users."""

from __future__ import annotations

from shared.audit import AuditRecord, EventType
from tests.directory.sync_support import expected_hash, get_sync, ids
from tests.factories import assign, make_app_with_key, make_application, make_user

USER_KEYS = {
    "auth_user_id",
    "name",
    "mobile_number",
    "email",
    "emp_id",
    "status",
    "updated_at",
    "sync_hash",
}


def test_only_users_assigned_to_the_calling_app_and_never_admins(admin):
    app, key = make_app_with_key(admin)
    other = make_application(admin)
    mine = make_user(admin, applications=[app["id"]])
    shared = make_user(admin, applications=[app["id"], other["id"]])
    make_user(admin, applications=[other["id"]])
    make_user(admin)
    make_user(admin, applications=[app["id"]], is_admin=True, password="A-long-admin-pass-123")

    response = get_sync(admin, key)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["application"] == {"id": app["id"], "name": app["name"]}
    assert ids(body["users"]) == {mine["auth_user_id"], shared["auth_user_id"]}
    assert body["removed"] == []
    assert body["has_more"] is False
    assert body["next_cursor"]


def test_user_object_is_the_contract_and_its_hash_can_be_recomputed(admin):
    app, key = make_app_with_key(admin)
    created = make_user(
        admin,
        applications=[app["id"]],
        name="Zoë Ångström-李",
        email="Zoe@Example.com",
        mobile_number="+1 415 555 0134",
        emp_id="E-1001",
    )

    (user,) = get_sync(admin, key).json()["users"]

    assert set(user) == USER_KEYS
    assert user == {key: created[key] for key in USER_KEYS}
    assert user["email"] == "zoe@example.com"
    assert user["mobile_number"] == "+14155550134"
    assert user["sync_hash"] == expected_hash(user)


def test_absent_optional_fields_hash_as_null(admin):
    app, key = make_app_with_key(admin)
    make_user(
        admin,
        applications=[app["id"]],
        name="Only Mobile",
        email=None,
        mobile_number="+14155550199",
    )

    (user,) = get_sync(admin, key).json()["users"]

    assert user["email"] is None and user["emp_id"] is None
    assert user["sync_hash"] == expected_hash(user)


def test_disabled_users_are_returned_with_status_disabled(admin):
    app, key = make_app_with_key(admin)
    disabled = make_user(admin, applications=[app["id"]], status="disabled")
    later = make_user(admin, applications=[app["id"]])
    admin.patch(f"/directory/users/{later['auth_user_id']}", json={"status": "disabled"})

    users = {u["auth_user_id"]: u for u in get_sync(admin, key).json()["users"]}

    assert set(users) == {disabled["auth_user_id"], later["auth_user_id"]}
    assert {u["status"] for u in users.values()} == {"disabled"}
    assert all(u["sync_hash"] == expected_hash(u) for u in users.values())


def test_unassigned_users_leave_the_full_set(admin):
    app, key = make_app_with_key(admin)
    stays = make_user(admin, applications=[app["id"]])
    leaves = make_user(admin, applications=[app["id"]])
    assign(admin, leaves["auth_user_id"], [])

    body = get_sync(admin, key).json()

    assert ids(body["users"]) == {stays["auth_user_id"]}
    assert body["removed"] == []


def test_app_without_users_gets_an_empty_page(admin):
    _, key = make_app_with_key(admin)

    body = get_sync(admin, key).json()

    assert body["users"] == [] and body["removed"] == [] and body["has_more"] is False
    again = get_sync(admin, key, since=body["next_cursor"]).json()
    assert again["users"] == [] and again["removed"] == []


def test_sync_call_is_audited_with_counts(admin, runtime):
    app, key = make_app_with_key(admin)
    for _ in range(3):
        make_user(admin, applications=[app["id"]])

    assert get_sync(admin, key, limit=2).status_code == 200

    records = [
        AuditRecord.from_stream(fields)
        for _, fields in runtime.redis.xrange(runtime.keys.audit_stream)
    ]
    (call,) = [r for r in records if r.type == EventType.API_CALL]
    assert call.application_id == app["id"]
    assert call.details["path"] == "/users/sync"
    assert call.details["mode"] == "full"
    assert call.details["users"] == 2
    assert call.details["has_more"] is True
