"""Helpers of the console tests: reading the CSRF token, signing in, reading the session."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from fastapi.testclient import TestClient

from console.security.session import COOKIE
from shared.models import UserAccount
from shared.runtime import Runtime
from shared.sync_contract import compute_sync_hash

PASSWORD = "correct horse battery staple"
SECTIONS = (
    "/setup/applications",
    "/setup/access",
    "/setup/otp",
    "/setup/directory",
    "/setup/api-docs",
    "/setup/docs",
    "/setup/audit",
)


def make_admin(
    runtime: Runtime, *, is_admin: bool = True, name: str = "Grace Admin"
) -> UserAccount:
    fields = {
        "name": name,
        "email": f"grace-{uuid.uuid4().hex[:8]}@example.com",
        "mobile_number": None,
        "emp_id": None,
        "status": "active",
    }
    user = UserAccount(
        **fields,
        is_admin=is_admin,
        sync_hash=compute_sync_hash(fields),
        password_hash=runtime.passwords.hash(PASSWORD),
    )
    with runtime.session_factory() as session:
        session.add(user)
        session.commit()
    return user


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def token_of(client: TestClient) -> str:
    """The CSRF token the browser's pages carry (a first visit starts the session)."""
    if not client.cookies.get(COOKIE):
        response = client.get("/setup")
        assert response.status_code == 200, response.text
        return csrf_token(response.text)
    return str(stored_session(client.app_runtime, client)[1]["csrf_token"])  # type: ignore[attr-defined]


def post_form(
    client: TestClient, path: str, data: dict[str, Any] | None = None, **kwargs: Any
) -> Any:
    """Submit a form the way the page does: with the session's CSRF token."""
    return client.post(path, data={"csrf_token": token_of(client), **(data or {})}, **kwargs)


def sign_in(client: TestClient, login: str, password: str) -> Any:
    response = post_form(client, "/setup/sign-in", {"login": login, "password": password})
    assert response.status_code == 303, response.text
    return response


def stored_session(runtime: Runtime, client: TestClient) -> tuple[str, dict[str, Any]]:
    """The Redis key and decrypted data of the browser's console session."""
    session_id = client.cookies.get(COOKIE)
    assert session_id
    key = runtime.keys("console", "session", runtime.box.keyed_hash(session_id))
    raw = runtime.redis.get(key)
    assert raw is not None
    return key, json.loads(runtime.box.decrypt(str(raw)))


def rewrite_session(runtime: Runtime, client: TestClient, **changes: Any) -> None:
    key, data = stored_session(runtime, client)
    data.update(changes)
    runtime.redis.set(key, runtime.box.encrypt(json.dumps(data)), ex=600)


def flash_texts(html: str) -> list[str]:
    return re.findall(r'<div class="flash [a-z]+" role="status">([^<]*)</div>', html)
