"""Signing in to the console: first administrator, password, OTP, sign-out; only admins."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from shared.models import UserAccount
from tests.console.support import (
    PASSWORD,
    SECTIONS,
    csrf_token,
    flash_texts,
    make_admin,
    post_form,
    sign_in,
    stored_session,
)

SETUP_TOKEN = "console-test-setup-token"


def admins(runtime):
    with runtime.session_factory() as session:
        return session.scalars(select(UserAccount).where(UserAccount.is_admin.is_(True))).all()


def test_signed_out_page_offers_sign_in_and_first_admin_setup(console):
    page = console.get("/setup")
    assert page.status_code == 200
    text = page.text
    assert "Not signed in" in text and "Local administrator access only." in text
    assert "Admin console sign-in" in text
    assert "Use password login or OTP login with the same email address or mobile number" in text
    assert 'action="/setup/first-admin"' in text
    assert 'class="sections"' not in text  # no section navigation before signing in


def test_first_admin_needs_the_setup_token(console, runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "setup_token", SecretStr(SETUP_TOKEN))
    form = {
        "name": "Ada First",
        "email": "ada.first@example.com",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    wrong = post_form(console, "/setup/first-admin", {**form, "setup_token": "guess"})
    assert wrong.status_code == 403
    assert "form-error" in wrong.text
    assert admins(runtime) == []

    created = post_form(console, "/setup/first-admin", {**form, "setup_token": SETUP_TOKEN})
    assert created.status_code == 303 and created.headers["location"] == "/setup"
    assert [a.email for a in admins(runtime)] == ["ada.first@example.com"]
    docs = console.get("/setup/docs")
    assert docs.status_code == 200 and "Signed in as <strong>Ada First</strong>" in docs.text
    # Once an administrator exists the form is gone (and the API refuses anyway).
    console.cookies.clear()
    assert 'action="/setup/first-admin"' not in console.get("/setup").text


def test_first_admin_passwords_must_match(console, runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "setup_token", SecretStr(SETUP_TOKEN))
    response = post_form(
        console,
        "/setup/first-admin",
        {
            "setup_token": SETUP_TOKEN,
            "name": "Ada",
            "email": "a@example.com",
            "password": PASSWORD,
            "password_confirm": PASSWORD + "x",
        },
    )
    assert response.status_code == 422
    assert "The two passwords differ." in response.text
    assert admins(runtime) == []


def test_password_sign_in_rotates_the_session(console, runtime, console_admin):
    before = console.get("/setup")
    anonymous_id = console.cookies.get("console_session")
    sign_in(console, console_admin.email, PASSWORD)
    assert console.cookies.get("console_session") != anonymous_id  # no session fixation
    _, data = stored_session(runtime, console)
    assert data["admin"]["name"] == console_admin.name
    assert csrf_token(before.text) != data["csrf_token"]
    assert console.get("/setup/applications").status_code == 200


def test_wrong_password_is_refused(console, console_admin):
    response = post_form(
        console, "/setup/sign-in", {"login": console_admin.email, "password": "nope"}
    )
    assert response.status_code == 401
    assert "form-error" in response.text
    assert console.get("/setup/applications").status_code == 303


def test_a_user_who_is_not_an_administrator_cannot_sign_in(console, runtime):
    user = make_admin(runtime, is_admin=False, name="Nora Normal")
    response = post_form(console, "/setup/sign-in", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 401
    assert console.get("/setup/directory").status_code == 303


def test_otp_sign_in_with_the_dev_code(console, runtime, console_admin, monkeypatch):
    monkeypatch.setattr(runtime.settings, "dev_codes", True)
    page = post_form(
        console, "/setup/sign-in/otp", {"login": console_admin.email, "channel": "email"}
    )
    assert page.status_code == 200
    assert 'action="/setup/sign-in/otp/verify"' in page.text
    code = page.text.split('<code id="dev-code">')[1].split("<")[0]
    wrong = post_form(
        console, "/setup/sign-in/otp/verify", {"code": "000000" if code != "000000" else "111111"}
    )
    assert wrong.status_code == 401 and "form-error" in wrong.text
    right = post_form(console, "/setup/sign-in/otp/verify", {"code": code})
    assert right.status_code == 303
    assert console.get("/setup/docs").status_code == 200


def test_sign_out_ends_the_session_here_and_at_the_auth_service(signed_in, runtime):
    _, data = stored_session(runtime, signed_in)
    token = data["access_token"]
    response = post_form(signed_in, "/setup/sign-out")
    assert response.status_code == 303
    page = signed_in.get("/setup")
    assert "Signed out." in flash_texts(page.text)
    assert signed_in.get("/setup/directory").status_code == 303
    # The old access token no longer works for the admin API either.
    assert (
        signed_in.get("/directory/users", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )


@pytest.mark.parametrize("path", SECTIONS)
def test_sections_need_a_signed_in_administrator(console, path):
    response = console.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == "/setup"
    assert "Sign in to continue." in flash_texts(console.get("/setup").text)


def test_an_administrator_with_mfa_enters_a_code_after_the_password(console, runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "dev_codes", True)
    admin = make_admin(runtime)
    with runtime.session_factory() as session:
        session.get(UserAccount, admin.id).mfa_enabled = True
        session.commit()
    page = post_form(console, "/setup/sign-in", {"login": admin.email, "password": PASSWORD})
    assert page.status_code == 200
    assert "Second step: verification code" in page.text
    assert console.get("/setup/directory").status_code == 303  # not signed in yet
    code = page.text.split('<code id="dev-code">')[1].split("<")[0]
    assert post_form(console, "/setup/sign-in/otp/verify", {"code": code}).status_code == 303
    assert console.get("/setup/directory").status_code == 200
