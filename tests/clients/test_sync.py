"""The sync helper against the real directory: it converges to exactly the server's set,
applies only what changed, answers a quiet delta with a 304, and resumes after a kill
without skipping or repeating a change."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from identity_client import SyncWalker

from tests.clients.files import FileCursor, FileTarget
from tests.factories import assign, make_user
from tests.otp_delivery.sinks import wait_until


def _server_set(admin, app_id: str) -> dict[str, str]:
    """auth_user_id -> sync_hash of every user the application may see, from the admin API."""
    users = admin.get("/directory/users", params={"limit": 500}).json()["items"]
    return {
        u["auth_user_id"]: u["sync_hash"]
        for u in users
        if any(a["id"] == app_id for a in u["applications"]) and not u["is_admin"]
    }


def _redundant(applied: list[str]) -> list[str]:
    """Operations in the log that changed nothing: an upsert of what was stored already, a
    removal of what was not there. A repeated change would show here."""
    state: dict[str, str] = {}
    wasted = []
    for line in applied:
        op, uid, *rest = line.split()
        if op == "upsert":
            if state.get(uid) == rest[0]:
                wasted.append(line)
            state[uid] = rest[0]
        else:
            if uid not in state:
                wasted.append(line)
            state.pop(uid, None)
    return wasted


def _local(target: FileTarget) -> dict[str, str]:
    return {
        uid: str(entry["sync_hash"])
        for uid, entry in FileTarget(target.users_file.parent).users.items()
    }


def test_sync_converges_through_a_changing_directory(identity, app, admin, tmp_path: Path):
    target, cursor = FileTarget(tmp_path), FileCursor(tmp_path)
    walker = SyncWalker(identity, target, cursor, page_size=3)
    others = [make_user(admin, name=f"User {n}", applications=[app.id]) for n in range(7)]
    first = walker.run()
    assert first.upserted == 8 and first.pages >= 3
    assert _local(target) == _server_set(admin, app.id)

    quiet = walker.run()  # nothing changed: one empty page, whose ETag is kept
    assert not quiet.not_modified and quiet.upserted == quiet.removed == 0
    again = walker.run()  # the same question again: a 304
    assert again.not_modified and again.upserted == again.removed == 0

    admin.patch(f"/directory/users/{others[0]['auth_user_id']}", json={"name": "Renamed"})
    assign(admin, others[1]["auth_user_id"], [])  # unassigned
    assert admin.delete(f"/directory/users/{others[2]['auth_user_id']}").status_code == 204
    added = make_user(admin, name="Newcomer", applications=[app.id])
    delta = walker.run()
    assert (delta.upserted, delta.removed) == (2, 2)  # the rename and the newcomer; two gone
    assert _local(target) == _server_set(admin, app.id)
    assert added["auth_user_id"] in _local(target)

    assign(admin, others[1]["auth_user_id"], [app.id])  # assigned again
    walker.run()
    assert _local(target) == _server_set(admin, app.id)
    assert others[1]["auth_user_id"] in _local(target)
    assert _redundant(target.applied()) == []  # no change was ever applied twice


def test_a_walk_killed_midway_resumes_without_skipping_or_repeating(
    base_url, identity, app, admin, tmp_path: Path
):
    for n in range(24):
        make_user(admin, name=f"Many {n:02d}", applications=[app.id])
    command = [sys.executable, "-m", "tests.clients.files", base_url, app.key, str(tmp_path),
               "4", "0.1"]  # fmt: skip
    walker = subprocess.Popen(command, cwd=Path(__file__).resolve().parents[2])
    target = FileTarget(tmp_path)
    try:
        wait_until(lambda: len(target.applied()) >= 10 or None, what="the walk to get going")
        walker.kill()  # SIGKILL, mid-page: no chance to save anything more
        walker.wait(10)
    finally:
        if walker.poll() is None:
            walker.kill()
    applied_before = target.applied()
    assert 10 <= len(applied_before) < 25  # killed part of the way through

    report = SyncWalker(identity, FileTarget(tmp_path), FileCursor(tmp_path), page_size=4).run()
    assert report.upserted == 25 - len(applied_before)  # what was left, and only that
    assert len(FileTarget(tmp_path).applied()) == 25
    assert _local(target) == _server_set(admin, app.id)  # nothing skipped
    assert _redundant(FileTarget(tmp_path).applied()) == []  # nothing applied twice


def test_the_librarys_sync_hash_recipe_matches_the_service(identity, app):
    from identity_client.models import sync_hash_of

    page = identity.sync_page()
    (user,) = page.users
    fields = {k: getattr(user, k) for k in ("name", "mobile_number", "email", "emp_id", "status")}
    assert sync_hash_of(fields) == user.sync_hash == page.raw_users[0]["sync_hash"]
