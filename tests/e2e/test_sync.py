"""`/users/sync` through Traefik: the full set, then only what changed (an edit, an unassign)."""

from __future__ import annotations

import hashlib
import json

import httpx

from tests.e2e.support import AppCaller, client, created, make_app


def _documented_sync_hash(user: dict[str, object]) -> str:
    """The recipe the README gives consuming applications."""
    fields = {k: user[k] for k in ("name", "mobile_number", "email", "emp_id", "status")}
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def test_full_sync_then_delta_after_an_edit_and_an_unassign(admin: httpx.Client, gateway_url: str):
    app, key = make_app(admin, "Timesheets", ["127.0.0.1/32"])
    people = [
        created(
            admin.post(
                "/directory/users",
                json={"name": f"Sync {n}", "email": f"sync{n}@example.com",
                      "emp_id": f"E{n}", "application_ids": [app["id"]]},
            )
        )
        for n in (1, 2, 3)
    ]  # fmt: skip
    edited, unassigned, untouched = people

    with client(gateway_url) as http:
        caller = AppCaller(http, key)
        full = caller.sync()
        assert full["application"]["name"] == "Timesheets"
        assert {u["auth_user_id"] for u in full["users"]} == {p["auth_user_id"] for p in people}
        assert full["removed"] == [] and full["has_more"] is False
        for user in full["users"]:
            assert user["sync_hash"] == _documented_sync_hash(user)
        cursor = full["next_cursor"]

        created(admin.patch(f"/directory/users/{edited['auth_user_id']}", json={"name": "Renamed"}))
        created(
            admin.put(
                f"/directory/users/{unassigned['auth_user_id']}/applications",
                json={"application_ids": []},
            )
        )

        delta = caller.sync(since=cursor)
    (changed,) = delta["users"]
    assert changed["auth_user_id"] == edited["auth_user_id"] and changed["name"] == "Renamed"
    assert changed["sync_hash"] != edited["sync_hash"]
    assert changed["sync_hash"] == _documented_sync_hash(changed)
    assert delta["removed"] == [unassigned["auth_user_id"]]
    assert untouched["auth_user_id"] not in {u["auth_user_id"] for u in delta["users"]}
