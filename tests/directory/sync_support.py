"""A consuming application's side of `GET /users/sync`, for the sync tests."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

KEY_HEADER = "X-Auth-Service-Key"


def get_sync(client: TestClient, key: str, **params: Any) -> Response:
    return client.get("/users/sync", params=params, headers={KEY_HEADER: key})


def expected_hash(user: dict[str, Any]) -> str:
    """DESIGN.md §8, recomputed the way an application would, without the service's code."""
    fields = {name: user[name] for name in ("name", "mobile_number", "email", "emp_id", "status")}
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass
class LocalCopy:
    """What a consuming application keeps: its users by id and the cursor to resume from."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    cursor: str | None = None
    pages: int = 0

    def apply(self, body: dict[str, Any]) -> None:
        for user in body["users"]:
            self.users[user["auth_user_id"]] = user
        for user_id in body["removed"]:
            self.users.pop(user_id, None)
        self.cursor = body["next_cursor"]
        self.pages += 1

    def pull(self, client: TestClient, key: str, limit: int | None = None) -> None:
        """Loop on cursors until `has_more` is false, as the contract tells apps to."""
        while True:
            params: dict[str, Any] = {} if limit is None else {"limit": limit}
            if self.cursor is not None:
                params["since"] = self.cursor
            response = get_sync(client, key, **params)
            assert response.status_code == 200, response.text
            body = response.json()
            self.apply(body)
            if not body["has_more"]:
                return


def ids(users: list[dict[str, Any]]) -> set[str]:
    return {user["auth_user_id"] for user in users}


def assert_error(response: Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return dict(body["error"])


def assigned_users(admin: TestClient, application_id: str) -> list[dict[str, Any]]:
    """What the directory says the app should have: its assigned, non-admin users."""
    params = {"application_id": application_id, "is_admin": "false", "limit": 500}
    page = admin.get("/directory/users", params=params).json()
    assert page["total"] <= 500
    return list(page["items"])
