"""What consuming applications see of an import, through `GET /users/sync`."""

from __future__ import annotations

from tests.directory.sync_support import expected_hash, get_sync, ids
from tests.directory.test_import_support import csv_bytes, upload
from tests.factories import make_app_with_key, make_user


def cursor_now(admin, key: str) -> str:
    body = get_sync(admin, key).json()
    assert body["has_more"] is False
    return str(body["next_cursor"])


def test_imported_users_arrive_in_the_assigned_apps_feed(admin):
    _, crm_key = make_app_with_key(admin, name="CRM")
    _, wiki_key = make_app_with_key(admin, name="Wiki")
    rows = [
        ["Ann", "ann@example.com", "", "", "CRM"],
        ["Bo", "bo@example.com", "", "", "CRM;Wiki"],
        ["Cy", "cy@example.com", "", "", ""],
    ]

    assert upload(admin, csv_bytes(rows)).status_code == 200

    crm_users = get_sync(admin, crm_key).json()["users"]
    assert sorted(u["name"] for u in crm_users) == ["Ann", "Bo"]
    assert all(u["sync_hash"] == expected_hash(u) for u in crm_users)
    assert [u["name"] for u in get_sync(admin, wiki_key).json()["users"]] == ["Bo"]


def test_updates_show_in_the_delta_and_untouched_users_do_not(admin):
    app, key = make_app_with_key(admin, name="CRM")
    renamed = make_user(admin, name="Old", email="old@example.com", applications=[app["id"]])
    same = make_user(admin, name="Same", email="same@example.com", applications=[app["id"]])
    since = cursor_now(admin, key)
    rows = [
        ["New", "old@example.com", "", "", "CRM"],
        ["Same", "same@example.com", "", "", "CRM"],
    ]

    response = upload(admin, csv_bytes(rows))

    assert (response.json()["updated"], response.json()["unchanged"]) == (1, 1)
    body = get_sync(admin, key, since=since).json()
    assert ids(body["users"]) == {renamed["auth_user_id"]}
    assert body["users"][0]["name"] == "New"
    assert body["users"][0]["sync_hash"] == expected_hash(body["users"][0])
    assert same["auth_user_id"] not in ids(body["users"]) and body["removed"] == []


def test_promoting_to_admin_by_import_removes_the_user_from_apps(admin):
    app, key = make_app_with_key(admin, name="CRM")
    user = make_user(admin, email="boss@example.com", applications=[app["id"]])
    since = cursor_now(admin, key)
    content = csv_bytes(
        [["Boss", "boss@example.com", "true", "CRM"]], ["name", "email", "admin", "applications"]
    )

    response = upload(admin, content, allow_admin=True)

    assert response.status_code == 200, response.text
    body = get_sync(admin, key, since=since).json()
    assert body["users"] == [] and body["removed"] == [user["auth_user_id"]]
    assert get_sync(admin, key).json()["users"] == []


def test_new_administrators_are_never_synced(admin):
    _, key = make_app_with_key(admin, name="CRM")
    header = ["name", "email", "is_admin", "applications"]
    content = csv_bytes([["Root", "root@example.com", "yes", "CRM"]], header)

    response = upload(admin, content, allow_admin=True)

    assert response.json()["created"] == 1
    assert get_sync(admin, key).json()["users"] == []
