"""Console sign-in: administrators only, console audience, and it says nothing about others."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from shared.models import UserAccount
from shared.tokens import CONSOLE_AUDIENCE
from tests.auth.support import PASSWORD, error_of
from tests.factories import make_user


@pytest.fixture
def console_admin(admin):
    return make_user(
        admin, name="Root Admin", is_admin=True, password=PASSWORD, mobile_number="+14155550199"
    )


def _admin_api(directory_client, token):
    return directory_client.get("/directory/users", headers={"Authorization": f"Bearer {token}"})


def test_password_login_gives_console_tokens(auth_client, directory_client, console_admin, runtime):
    response = auth_client.post(
        "/auth/admin/login", json={"login": console_admin["email"], "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    tokens = response.json()
    verified = runtime.tokens.verify(tokens["access_token"], audience=CONSOLE_AUDIENCE)
    assert verified.subject == console_admin["auth_user_id"] and verified.session_id
    assert _admin_api(directory_client, tokens["access_token"]).status_code == 200


def test_non_admins_and_wrong_passwords_look_the_same(auth_client, admin, caller, member):
    for login, password in (
        (member["email"], PASSWORD),  # a real user, right password, but no administrator
        ("nobody@example.com", PASSWORD),
        (member["email"], "wrong-password"),
    ):
        response = auth_client.post(
            "/auth/admin/login", json={"login": login, "password": password}
        )
        assert error_of(response) == (401, "invalid_credentials")
        assert response.json()["error"]["message"] == "The login or password is incorrect."


def test_otp_sign_in_for_an_admin(auth_client, console_admin, outbox):
    response = auth_client.post("/auth/admin/otp/request", json={"login": console_admin["email"]})
    assert response.status_code == 202, response.text
    challenge = response.json()
    verified = auth_client.post(
        "/auth/admin/otp/verify",
        json={"otp_request_id": challenge["otp_request_id"], "code": outbox.secret()},
    )
    assert verified.status_code == 200, verified.text


def test_otp_request_for_a_non_admin_answers_alike_and_sends_nothing(auth_client, member, outbox):
    response = auth_client.post("/auth/admin/otp/request", json={"login": member["email"]})
    assert response.status_code == 202
    assert set(response.json()) == {
        "otp_request_id",
        "channel",
        "destination",
        "expires_in",
        "resend_after",
    }
    assert outbox.tasks == []
    verify = auth_client.post(
        "/auth/admin/otp/verify",
        json={"otp_request_id": response.json()["otp_request_id"], "code": "123456"},
    )
    assert error_of(verify) == (401, "otp_expired")


def test_console_codes_go_where_the_login_points(auth_client, console_admin):
    response = auth_client.post(
        "/auth/admin/otp/request", json={"login": console_admin["email"], "channel": "sms"}
    )
    assert error_of(response) == (422, "validation_error")


def test_console_refresh_and_logout(auth_client, directory_client, console_admin):
    tokens = auth_client.post(
        "/auth/admin/login", json={"login": console_admin["email"], "password": PASSWORD}
    ).json()
    fresh = auth_client.post(
        "/auth/admin/token/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert fresh.status_code == 200, fresh.text
    access = fresh.json()["access_token"]
    out = auth_client.post("/auth/admin/logout", headers={"Authorization": f"Bearer {access}"})
    assert out.json() == {"revoked": True}
    assert error_of(_admin_api(directory_client, access)) == (401, "session_revoked")


def test_a_demoted_administrator_cannot_refresh_the_console_session(
    auth_client, console_admin, runtime
):
    tokens = auth_client.post(
        "/auth/admin/login", json={"login": console_admin["email"], "password": PASSWORD}
    ).json()
    # Straight in the database, so the refresh itself must notice.
    with runtime.session_factory() as db:
        db.execute(update(UserAccount).values(is_admin=False))
        db.commit()
    refreshed = auth_client.post(
        "/auth/admin/token/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert error_of(refreshed) == (401, "session_revoked")


def test_app_refresh_tokens_do_not_work_on_the_console(auth_client, caller, member):
    tokens = caller.signed_in(member["email"])
    response = auth_client.post(
        "/auth/admin/token/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert error_of(response) == (401, "invalid_refresh_token")


def test_admin_login_lockout(auth_client, console_admin):
    body = {"login": console_admin["email"], "password": "nope-nope-nope"}
    for _ in range(5):
        assert auth_client.post("/auth/admin/login", json=body).status_code == 401
    good = {"login": console_admin["email"], "password": PASSWORD}
    assert error_of(auth_client.post("/auth/admin/login", json=good)) == (429, "account_locked")
