"""What the fuzzing found, pinned down as plain regression tests."""

from __future__ import annotations

from fastapi.testclient import TestClient

from console.app import create_app as create_console_app
from shared.runtime import Runtime
from tests.conftest import PEER


def test_a_body_that_is_not_utf8_is_a_validation_error_and_changes_nothing(
    admin: TestClient,
) -> None:
    response = admin.post(
        "/directory/applications",
        content=b'{"name": "\xff\xfe", "allowed_ips": []}',
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert admin.get("/directory/applications").json()["items"] == []


def test_rotating_the_secret_while_auth_is_unreachable_is_a_clear_503(
    runtime: Runtime, admin_headers: dict[str, str]
) -> None:
    console = create_console_app(runtime)
    # Nothing listens on the discard port: the connection is refused at once.
    console.state.api_target = "http://127.0.0.1:9"
    client = TestClient(console, client=PEER)

    response = client.post("/console/api/platform/rotate-secret", headers=admin_headers, json={})

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
