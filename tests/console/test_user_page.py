"""One user: edit, assign applications, switches, delete, devices and sessions."""

from __future__ import annotations

import re
import uuid

from shared.audit import EventType
from tests.auth.mfa_support import enrol_totp, make_recovery_codes
from tests.auth.support import audit_events
from tests.auth.test_passkeys import register_passkey
from tests.console.support import flash_texts, post_form
from tests.factories import make_app_with_key, make_application, make_user


def test_edit_a_user(signed_in, admin):
    user = make_user(admin, name="Old Name")
    page = signed_in.get(f"/setup/directory/users/{user['auth_user_id']}")
    assert page.status_code == 200 and 'value="Old Name"' in page.text
    response = post_form(
        signed_in,
        f"/setup/directory/users/{user['auth_user_id']}",
        {"name": "New Name", "email": user["email"], "emp_id": "E-9"},
    )
    assert response.status_code == 303
    stored = admin.get(f"/directory/users/{user['auth_user_id']}").json()
    assert (stored["name"], stored["emp_id"]) == ("New Name", "E-9")


def test_an_edit_error_is_shown_and_nothing_changes(signed_in, admin):
    user = make_user(admin, name="Keep Me")
    response = post_form(
        signed_in,
        f"/setup/directory/users/{user['auth_user_id']}",
        {"name": "X", "email": "not-an-email"},
    )
    assert response.status_code == 422
    assert 'class="field-error"' in response.text.split('name="email"')[1].split("</div>")[0]
    assert admin.get(f"/directory/users/{user['auth_user_id']}").json()["name"] == "Keep Me"


def test_assign_applications(signed_in, admin):
    first, second = make_application(admin, name="One"), make_application(admin, name="Two")
    user = make_user(admin, applications=[first["id"]])
    response = post_form(
        signed_in,
        f"/setup/directory/users/{user['auth_user_id']}/applications",
        {"application_ids": [second["id"]]},
    )
    assert response.status_code == 303
    names = [
        a["name"]
        for a in admin.get(f"/directory/users/{user['auth_user_id']}").json()["applications"]
    ]
    assert names == ["Two"]


def test_switches_admin_mfa_and_status(signed_in, admin):
    user = make_user(admin)
    path = f"/setup/directory/users/{user['auth_user_id']}/switch"
    for field, value in (("is_admin", "true"), ("mfa_enabled", "true"), ("status", "disabled")):
        assert post_form(signed_in, path, {"field": field, "value": value}).status_code == 303
    stored = admin.get(f"/directory/users/{user['auth_user_id']}").json()
    assert (stored["is_admin"], stored["mfa_enabled"], stored["status"]) == (True, True, "disabled")
    post_form(signed_in, path, {"field": "is_admin", "value": "false"})
    assert admin.get(f"/directory/users/{user['auth_user_id']}").json()["is_admin"] is False


def test_delete_a_user(signed_in, admin):
    user = make_user(admin)
    response = post_form(signed_in, f"/setup/directory/users/{user['auth_user_id']}/delete")
    assert response.status_code == 303 and response.headers["location"] == "/setup/directory"
    assert admin.get(f"/directory/users/{user['auth_user_id']}").status_code == 404


def signed_in_twice(admin, auth_client) -> dict:
    """A user of an application signed in to it from a laptop and a phone."""
    app, key = make_app_with_key(admin, allowed_ips=["127.0.0.1/32"])
    user = make_user(admin, password="a fine long password", applications=[app["id"]])
    for device in ("laptop", "phone"):
        signed = auth_client.post(
            "/auth/login",
            headers={"X-Auth-Service-Key": key},
            json={
                "login": user["email"],
                "password": "a fine long password",
                "device": {"device_id": device, "name": f"Lin's {device}"},
            },
        )
        assert signed.status_code == 200, signed.text
    return user


def test_sessions_and_devices_are_listed_and_revoked(signed_in, admin, auth_client, admin_headers):
    user = signed_in_twice(admin, auth_client)
    page = signed_in.get(f"/setup/directory/users/{user['auth_user_id']}").text
    assert "Lin&#39;s laptop" in page and "Lin&#39;s phone" in page
    counts = signed_in.get("/setup/directory").text.split(user["email"])[1].split("</tr>")[0]
    assert counts.count("<td>2</td>") == 2  # Devices and Sessions columns

    session_id = re.search(r"/sessions/([0-9a-f-]{36})/revoke", page).group(1)
    one = post_form(
        signed_in, f"/setup/directory/users/{user['auth_user_id']}/sessions/{session_id}/revoke"
    )
    assert one.status_code == 303
    every = post_form(signed_in, f"/setup/directory/users/{user['auth_user_id']}/sessions/revoke")
    assert every.status_code == 303
    assert "1 session(s) revoked." in flash_texts(
        signed_in.get(f"/setup/directory/users/{user['auth_user_id']}").text
    )
    listed = signed_in.get(
        f"/auth/admin/users/{user['auth_user_id']}/sessions", headers=admin_headers
    )
    assert listed.json()["items"] == []


def test_a_sign_in_at_the_hosted_page_shows_as_a_single_sign_on_session(
    signed_in, admin, auth_app, auth_client, admin_headers
):
    from tests.auth.oidc_support import Authorization, Browser, register_client

    app, _ = make_app_with_key(admin, allowed_ips=["127.0.0.1/32"])
    user = make_user(admin, password="a fine long password", applications=[app["id"]])
    auth_client.headers.update(admin_headers)
    try:
        register_client(auth_client, app["id"])
    finally:
        auth_client.headers.pop("Authorization", None)
    answer = Browser(auth_app).sign_in(
        Authorization.with_pkce(app["id"]), user["email"], "a fine long password"
    )
    assert answer.status_code == 302
    page = signed_in.get(f"/setup/directory/users/{user['auth_user_id']}").text
    sessions = page.split('id="sessions"')[1].split("</table>")[0]
    assert "single sign-on (hosted page)" in sessions


def _factors_card(html: str) -> str:
    return html.split('id="second-factors"')[1].split("</section>")[0]


def test_the_second_factors_card_lists_what_the_user_has(signed_in, admin, runtime):
    strict = make_application(admin, name="Payroll")
    admin.patch(f"/directory/applications/{strict['id']}", json={"require_mfa": True})
    user = make_user(admin, mfa_enabled=True, applications=[strict["id"]])
    enrol_totp(runtime, user["auth_user_id"])
    make_recovery_codes(runtime, user["auth_user_id"])
    register_passkey(runtime, user["auth_user_id"])
    card = _factors_card(signed_in.get(f"/setup/directory/users/{user['auth_user_id']}").text)
    assert '<dd id="mfa-required">yes: their MFA flag, the application Payroll</dd>' in card
    assert '<dd id="totp-state">on</dd>' in card
    assert '<dd id="recovery-codes-left">10</dd>' in card
    passkey = card.split('id="passkeys-table"')[1].split("<tbody>")[1].split("</tr>")[0]
    assert "Test key" in passkey and "never" in passkey and "<td>no</td>" in passkey
    assert f"{runtime.settings.issuer}/account" in card
    form = card.split('id="reset-factors-form"')[1].split("</form>")[0]
    assert f'data-confirm="Reset the second factors of {user["name"]}?' in form
    assert 'name="csrf_token"' in form and "disabled" not in form


def test_a_user_without_second_factors(signed_in, admin):
    user = make_user(admin)
    card = _factors_card(signed_in.get(f"/setup/directory/users/{user['auth_user_id']}").text)
    assert '<dd id="mfa-required">no</dd>' in card and '<dd id="totp-state">off</dd>' in card
    assert "No passkeys." in card
    assert "disabled" in card.split('id="reset-factors-form"')[1].split("</form>")[0]


def test_reset_second_factors_removes_them_and_ends_the_sessions(
    signed_in, admin, runtime, auth_client, admin_headers
):
    user = signed_in_twice(admin, auth_client)  # before the factors: a password did then
    enrol_totp(runtime, user["auth_user_id"])
    make_recovery_codes(runtime, user["auth_user_id"])
    register_passkey(runtime, user["auth_user_id"])
    path = f"/setup/directory/users/{user['auth_user_id']}/second-factors/reset"

    forged = signed_in.post(path)  # no CSRF token: refused, nothing removed
    assert forged.status_code == 403
    factors = f"/auth/admin/users/{user['auth_user_id']}/second-factors"
    assert signed_in.get(factors, headers=admin_headers).json()["totp"] is True

    response = post_form(signed_in, path)
    assert response.status_code == 303
    assert response.headers["location"] == f"/setup/directory/users/{user['auth_user_id']}"
    page = signed_in.get(response.headers["location"]).text
    assert flash_texts(page) == [
        "Second factors reset: the authenticator app, 1 passkey and the recovery codes "
        "removed; 2 sessions ended."
    ]
    after = signed_in.get(factors, headers=admin_headers).json()
    assert (after["totp"], after["passkeys"], after["recovery_codes_left"]) == (False, [], 0)
    sessions = f"/auth/admin/users/{user['auth_user_id']}/sessions"
    assert signed_in.get(sessions, headers=admin_headers).json()["items"] == []
    (event,) = audit_events(runtime, EventType.ADMIN_MFA_RESET.value)
    assert str(event.subject_user_id) == user["auth_user_id"]


def test_reset_of_an_unknown_user_is_a_404_page(signed_in):
    response = post_form(signed_in, f"/setup/directory/users/{uuid.uuid4()}/second-factors/reset")
    assert response.status_code == 404 and "User not found." in response.text
