"""Test data through the real admin API, so a test reads as its scenario."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_application(
    admin: TestClient,
    *,
    name: str | None = None,
    allowed_ips: list[str] | None = None,
    status: str = "active",
) -> dict[str, Any]:
    response = admin.post(
        "/directory/applications",
        json={
            "name": name or unique("app"),
            "allowed_ips": ["127.0.0.1/32"] if allowed_ips is None else allowed_ips,
            "status": status,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def make_api_key(admin: TestClient, application_id: str) -> str:
    response = admin.post(f"/directory/applications/{application_id}/keys")
    assert response.status_code == 201, response.text
    return str(response.json()["api_key"])


def make_app_with_key(admin: TestClient, **kwargs: Any) -> tuple[dict[str, Any], str]:
    app = make_application(admin, **kwargs)
    return app, make_api_key(admin, app["id"])


def make_user(
    admin: TestClient, *, applications: list[str] | None = None, **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Test User", "email": f"{unique('user')}@example.com"}
    body.update(fields)
    if applications:
        body["application_ids"] = applications
    response = admin.post("/directory/users", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def assign(admin: TestClient, user_id: str, application_ids: list[str]) -> dict[str, Any]:
    response = admin.put(
        f"/directory/users/{user_id}/applications", json={"application_ids": application_ids}
    )
    assert response.status_code == 200, response.text
    return response.json()
