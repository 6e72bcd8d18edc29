"""`/console/api/platform`: the JSON API behind Service setup, for the console and scripts."""

from __future__ import annotations

from shared.settings import Environment
from tests.factories import make_app_with_key, make_user


def test_needs_an_administrator_token(console):
    assert console.get("/console/api/platform").status_code == 401
    assert console.put("/console/api/platform", json={"otp_length": 8}).status_code == 401


def test_shows_environment_values_until_changed(console, admin_headers, runtime):
    body = console.get("/console/api/platform", headers=admin_headers).json()
    assert body["access_token_ttl_seconds"] == runtime.settings.access_token_ttl_seconds
    assert body["set_in_console"] == []
    assert body["branding"] == {"name": "Identity Services", "colour": "#1d4ed8", "logo_url": None}

    changed = console.put(
        "/console/api/platform",
        headers=admin_headers,
        json={"access_token_ttl_seconds": 600, "branding": {"name": "Acme"}},
    )
    assert changed.status_code == 200
    assert changed.json()["access_token_ttl_seconds"] == 600
    assert changed.json()["set_in_console"] == ["access_token_ttl_seconds"]
    assert changed.json()["branding"]["name"] == "Acme"


def test_bad_input_changes_nothing(console, admin_headers):
    for body in (
        {"otp_length": 3},
        {"surprise": 1},
        {"branding": {"colour": "blue"}},
        {"public_hostname": "has space"},
    ):
        response = console.put("/console/api/platform", headers=admin_headers, json=body)
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "validation_error"
    assert (
        console.get("/console/api/platform", headers=admin_headers).json()["set_in_console"] == []
    )


def test_dev_codes_cannot_be_switched_on_in_production(
    console, admin_headers, runtime, monkeypatch
):
    monkeypatch.setattr(runtime.settings, "env", Environment.PRODUCTION)
    response = console.put("/console/api/platform", headers=admin_headers, json={"dev_codes": True})
    assert response.status_code == 422
    assert "production" in response.json()["error"]["message"]
    monkeypatch.setattr(runtime.settings, "env", Environment.TEST)
    assert console.get("/console/api/platform", headers=admin_headers).json()["dev_codes"] is False


def test_rotate_secret_goes_through_the_auth_service(console, admin_headers, restore_signing_keys):
    response = console.post("/console/api/platform/rotate-secret", headers=admin_headers, json={})
    assert response.status_code == 200
    assert set(response.json()) == {"signing_kids", "previous_verify_until"}
    assert len(response.json()["signing_kids"]) == 3  # one per algorithm
    # The token minted before the rotation still verifies during the overlap.
    assert console.get("/console/api/platform", headers=admin_headers).status_code == 200


def test_openapi_lists_the_platform_api(console):
    paths = console.get("/console/openapi.json").json()["paths"]
    assert {
        "/console/api/platform",
        "/console/api/platform/rotate-secret",
        "/console/api/platform/logo",
    } <= set(paths)
    assert console.get("/console/readyz").status_code == 200


def test_a_change_reaches_the_auth_service(console, admin, admin_headers, auth_client):
    app, key = make_app_with_key(admin)
    password = "a long enough passphrase"
    user = make_user(admin, password=password, applications=[app["id"]])
    changed = console.put(
        "/console/api/platform", headers=admin_headers, json={"access_token_ttl_seconds": 600}
    )
    assert changed.status_code == 200
    signed_in = auth_client.post(
        "/auth/login",
        json={"login": user["email"], "password": password},
        headers={"X-Auth-Service-Key": key},
    )
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["expires_in"] == 600
