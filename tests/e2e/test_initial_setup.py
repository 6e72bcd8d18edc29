"""The seed's "Initial setup", through Traefik with the admin APIs, as an operator's script does it.

Steps 1-2 (first administrator) and 4-7 run in the package fixtures every
other end-to-end test builds on; here each step's outcome is checked the way
an administrator would look at it afterwards.
"""

from __future__ import annotations

import httpx

from tests.e2e.conftest import ALICE_MOBILE, SETUP_TOKEN, World
from tests.e2e.support import PASSWORD, client, created, error_of
from tests.otp_delivery.sinks import HttpSink, SmtpSink, wait_until


def test_first_administrator_is_made_once_with_the_setup_token(
    gateway_url: str, setup_answer: httpx.Response
):
    assert setup_answer.status_code == 201, setup_answer.text
    tokens = setup_answer.json()
    assert tokens["token_type"] == "Bearer" and tokens["user"]["email"] == "grace@example.com"

    again = {"setup_token": SETUP_TOKEN, "name": "Mallory", "email": "m@example.com"}
    with client(gateway_url) as http:
        second = http.post("/auth/admin/setup", json={**again, "password": PASSWORD})
        assert second.status_code in (403, 409), second.text
        # The administrator signs in to the console with the password set up.
        login = http.post(
            "/auth/admin/login", json={"login": "grace@example.com", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text


def test_platform_public_hostname_and_token_secret(admin: httpx.Client):
    # Step 3: Platform, in the console's API.
    current = admin.get("/console/api/platform")
    assert current.status_code == 200, current.text
    changed = admin.put("/console/api/platform", json={"public_hostname": "auth.localhost"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["public_hostname"] == "auth.localhost"
    rotated = admin.post("/console/api/platform/rotate-secret", json={})
    assert rotated.status_code == 200, rotated.text
    # The administrator's own token (signed with the previous secret) still works.
    assert admin.get("/directory/users").status_code == 200


def test_otp_providers_point_at_the_sinks_and_test_sms_arrives(
    admin: httpx.Client, world: World, sms_sink: HttpSink, smtp_sink: SmtpSink
):
    settings = created(admin.get("/otp/settings"))
    assert settings["sms"]["provider"] == "generic_api"
    assert settings["sms"]["config"]["url"] == sms_sink.url + "/sms/send"
    assert settings["email"]["config"]["host"] == smtp_sink.host

    check = created(admin.post("/otp/test-sms", json={"mobile_number": "+14155550199"}))
    assert check["ok"] is True, check
    wait_until(
        lambda: any(r.json().get("to") == "+14155550199" for r in sms_sink.requests),
        what="the test SMS at the sink",
    )


def test_application_key_and_assigned_users_are_listed(admin: httpx.Client, world: World):
    app = created(admin.get(f"/directory/applications/{world.app['id']}"))
    assert app["allowed_ips"] == ["127.0.0.1/32"] and app["status"] == "active"
    keys = admin.get(f"/directory/applications/{world.app['id']}/keys").json()
    assert len(keys) == 1 and "api_key" not in keys[0]  # shown once, at creation only
    assert world.api_key.startswith(f"ask_{keys[0]['prefix']}_")

    alice = created(admin.get(f"/directory/users/{world.alice['auth_user_id']}"))
    assert alice["mobile_number"] == ALICE_MOBILE and alice["has_password"] is True
    assert [a["id"] for a in alice["applications"]] == [world.app["id"]]
    carol = created(admin.get(f"/directory/users/{world.carol['auth_user_id']}"))
    assert carol["applications"] == []


def test_a_wrong_setup_token_is_refused(gateway_url: str, setup_answer: httpx.Response):
    body = {"setup_token": "not-the-token", "name": "Eve", "email": "eve@example.com"}
    with client(gateway_url) as http:
        response = http.post("/auth/admin/setup", json={**body, "password": PASSWORD})
    status, _, _ = error_of(response)
    assert status in (401, 403, 409)
