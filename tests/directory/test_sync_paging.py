"""Paging through `GET /users/sync` on cursors, including while the directory is changing."""

from __future__ import annotations

import random
import threading

from tests.directory.sync_support import (
    LocalCopy,
    assigned_users,
    expected_hash,
    get_sync,
    ids,
)
from tests.factories import assign, make_app_with_key, make_application, make_user


def test_pages_follow_cursors_until_has_more_is_false(admin):
    app, key = make_app_with_key(admin)
    created = [make_user(admin, applications=[app["id"]]) for _ in range(7)]

    seen: list[str] = []
    pages = []
    since = None
    while True:
        params = {"limit": 3} | ({"since": since} if since else {})
        body = get_sync(admin, key, **params).json()
        pages.append((len(body["users"]), body["has_more"]))
        seen += [u["auth_user_id"] for u in body["users"]]
        since = body["next_cursor"]
        if not body["has_more"]:
            break

    assert pages == [(3, True), (3, True), (1, False)]
    assert seen == [u["auth_user_id"] for u in created]  # oldest change first
    assert get_sync(admin, key, since=since).json()["users"] == []


def test_full_set_skips_removed_entries_when_paging(admin):
    app, key = make_app_with_key(admin)
    users = [make_user(admin, applications=[app["id"]]) for _ in range(6)]
    for user in users[::2]:
        assign(admin, user["auth_user_id"], [])

    first = get_sync(admin, key, limit=2).json()
    assert len(first["users"]) == 2 and first["has_more"] is True
    local = LocalCopy()
    local.pull(admin, key, limit=2)

    assert set(local.users) == {u["auth_user_id"] for u in users[1::2]}
    assert get_sync(admin, key, since=local.cursor).json()["users"] == []


def test_default_limit_comes_from_settings(admin, runtime, monkeypatch):
    app, key = make_app_with_key(admin)
    for _ in range(3):
        make_user(admin, applications=[app["id"]])
    monkeypatch.setattr(runtime.settings, "sync_default_limit", 2)

    body = get_sync(admin, key).json()

    assert len(body["users"]) == 2 and body["has_more"] is True


def test_limit_at_the_maximum_is_accepted(admin, runtime):
    app, key = make_app_with_key(admin)
    make_user(admin, applications=[app["id"]])

    response = get_sync(admin, key, limit=runtime.settings.sync_max_limit)

    assert response.status_code == 200 and len(response.json()["users"]) == 1


def _churn(admin, app_id: str, other_id: str, live: list[str], errors: list[BaseException]) -> None:
    """Another administrator creating, editing, unassigning and deleting users meanwhile."""
    rng = random.Random(20240601)
    try:
        for step in range(48):
            action = step % 4
            if action == 0 or not live:
                live.append(make_user(admin, applications=[app_id])["auth_user_id"])
            elif action == 1:
                target = rng.choice(live)
                status = rng.choice(["active", "disabled"])
                fields = {"name": f"Edited {step}", "status": status}
                response = admin.patch(f"/directory/users/{target}", json=fields)
                assert response.status_code == 200, response.text
            elif action == 2:
                target = live.pop(rng.randrange(len(live)))
                assign(admin, target, [other_id])
            else:
                target = live.pop(rng.randrange(len(live)))
                assert admin.delete(f"/directory/users/{target}").status_code == 204
    except BaseException as exc:
        errors.append(exc)


def test_client_looping_on_cursors_misses_nothing_while_users_change(admin):
    app, key = make_app_with_key(admin)
    other = make_application(admin)
    live = [make_user(admin, applications=[app["id"]])["auth_user_id"] for _ in range(15)]
    errors: list[BaseException] = []
    writer = threading.Thread(target=_churn, args=(admin, app["id"], other["id"], live, errors))

    local = LocalCopy()
    writer.start()
    while writer.is_alive():
        local.pull(admin, key, limit=4)
    writer.join()
    local.pull(admin, key, limit=4)

    assert errors == []
    assert local.pages > 3
    server = {u["auth_user_id"]: u for u in assigned_users(admin, app["id"])}
    assert set(local.users) == set(server) == set(live)
    for user_id, copy in local.users.items():
        assert copy["sync_hash"] == server[user_id]["sync_hash"] == expected_hash(copy)
        assert copy["name"] == server[user_id]["name"]
        assert copy["status"] == server[user_id]["status"]
    assert ids(get_sync(admin, key).json()["users"]) == set(server)
