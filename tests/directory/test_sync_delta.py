"""`GET /users/sync?since=CURSOR`: exactly what changed, and ETags for unchanged pages."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete

from shared.models import UserAccount
from tests.directory.sync_support import expected_hash, get_sync, ids
from tests.factories import assign, make_app_with_key, make_application, make_user


def cursor_now(admin, key: str) -> str:
    body = get_sync(admin, key).json()
    assert body["has_more"] is False
    return str(body["next_cursor"])


def delta(admin, key: str, since: str) -> dict[str, Any]:
    response = get_sync(admin, key, since=since)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_delta_shows_created_edited_unassigned_and_deleted_users(admin):
    app, key = make_app_with_key(admin)
    other = make_application(admin)
    edited = make_user(admin, applications=[app["id"]])
    unassigned = make_user(admin, applications=[app["id"], other["id"]])
    deleted = make_user(admin, applications=[app["id"]])
    untouched = make_user(admin, applications=[app["id"]])
    since = cursor_now(admin, key)

    created = make_user(admin, applications=[app["id"]])
    make_user(admin, applications=[other["id"]])
    admin.patch(f"/directory/users/{edited['auth_user_id']}", json={"name": "New Name"})
    assign(admin, unassigned["auth_user_id"], [other["id"]])
    assert admin.delete(f"/directory/users/{deleted['auth_user_id']}").status_code == 204

    body = delta(admin, key, since)

    users = {u["auth_user_id"]: u for u in body["users"]}
    assert set(users) == {created["auth_user_id"], edited["auth_user_id"]}
    assert users[edited["auth_user_id"]]["name"] == "New Name"
    assert users[edited["auth_user_id"]]["sync_hash"] == expected_hash(
        users[edited["auth_user_id"]]
    )
    assert users[edited["auth_user_id"]]["sync_hash"] != edited["sync_hash"]
    assert set(body["removed"]) == {unassigned["auth_user_id"], deleted["auth_user_id"]}
    assert untouched["auth_user_id"] not in users
    assert body["has_more"] is False


def test_delta_without_changes_is_empty_and_keeps_working(admin):
    app, key = make_app_with_key(admin)
    make_user(admin, applications=[app["id"]])
    since = cursor_now(admin, key)

    first = delta(admin, key, since)
    second = delta(admin, key, first["next_cursor"])

    for body in (first, second):
        assert body["users"] == [] and body["removed"] == [] and body["has_more"] is False


def test_changes_apps_do_not_see_make_no_delta(admin):
    app, key = make_app_with_key(admin)
    user = make_user(admin, applications=[app["id"]])
    since = cursor_now(admin, key)

    admin.patch(f"/directory/users/{user['auth_user_id']}", json={"mfa_enabled": True})

    body = delta(admin, key, since)
    assert body["users"] == [] and body["removed"] == []


def test_promoting_to_admin_removes_and_demoting_brings_back(admin):
    app, key = make_app_with_key(admin)
    user = make_user(admin, applications=[app["id"]], password="A-long-admin-pass-123")
    url = f"/directory/users/{user['auth_user_id']}"
    since = cursor_now(admin, key)

    assert admin.patch(url, json={"is_admin": True}).status_code == 200
    promoted = delta(admin, key, since)
    assert promoted["users"] == [] and promoted["removed"] == [user["auth_user_id"]]
    assert get_sync(admin, key).json()["users"] == []

    assert admin.patch(url, json={"is_admin": False}).status_code == 200
    demoted = delta(admin, key, promoted["next_cursor"])
    assert ids(demoted["users"]) == {user["auth_user_id"]} and demoted["removed"] == []


def test_reassigned_user_comes_back_as_a_user(admin):
    app, key = make_app_with_key(admin)
    user = make_user(admin, applications=[app["id"]])
    since = cursor_now(admin, key)
    assign(admin, user["auth_user_id"], [])
    assign(admin, user["auth_user_id"], [app["id"]])

    body = delta(admin, key, since)

    assert ids(body["users"]) == {user["auth_user_id"]} and body["removed"] == []


def test_etag_answers_304_until_something_changes(admin):
    app, key = make_app_with_key(admin)
    user = make_user(admin, applications=[app["id"]])
    first = get_sync(admin, key)
    etag = first.headers["etag"]

    unchanged = admin.get("/users/sync", headers={"X-Auth-Service-Key": key, "If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == etag

    other_page = get_sync(admin, key, limit=5)
    assert other_page.headers["etag"] != etag

    admin.patch(f"/directory/users/{user['auth_user_id']}", json={"name": "Renamed"})
    changed = admin.get("/users/sync", headers={"X-Auth-Service-Key": key, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.json()["users"][0]["name"] == "Renamed"


def test_entry_whose_user_row_is_gone_is_a_removal(admin, runtime):
    app, key = make_app_with_key(admin)
    since = cursor_now(admin, key)
    kept = make_user(admin, applications=[app["id"]])
    vanished = make_user(admin, applications=[app["id"]])
    # A user row deleted behind the directory's back still leaves its feed entry.
    with runtime.session_factory() as session:
        session.execute(
            delete(UserAccount).where(UserAccount.id == uuid.UUID(vanished["auth_user_id"]))
        )
        session.commit()

    body = delta(admin, key, since)

    assert ids(body["users"]) == {kept["auth_user_id"]}
    assert body["removed"] == [vanished["auth_user_id"]]
    assert ids(get_sync(admin, key).json()["users"]) == {kept["auth_user_id"]}
