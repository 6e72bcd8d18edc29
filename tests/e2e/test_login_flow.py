"""The seed's "Recommended end-user login flow for consuming apps", step by step, through Traefik:
the code travels auth -> Redis -> Celery worker -> the SMS (or mail) sink."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import ALICE_MOBILE, World
from tests.e2e.support import PASSWORD, AppCaller, email_code, error_of, sms_code
from tests.otp_delivery.sinks import HttpSink, SmtpSink


def _session_lifecycle(caller: AppCaller, tokens: dict[str, Any], user: dict[str, Any]) -> None:
    """Steps 6-7 and what follows: session, refresh, logout, session refused."""
    assert tokens["token_type"] == "Bearer"
    assert tokens["user"]["auth_user_id"] == user["auth_user_id"]

    session = caller.session(tokens["access_token"])
    assert session.status_code == 200, session.text
    assert session.json()["user"]["email"] == user["email"]

    refreshed = caller.post("/auth/token/refresh", {"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    renewed = refreshed.json()
    assert renewed["refresh_token"] != tokens["refresh_token"]  # rotated
    assert caller.session(renewed["access_token"]).status_code == 200

    logout = caller.post("/auth/logout", {"refresh_token": renewed["refresh_token"]})
    assert logout.status_code == 200 and logout.json() == {"revoked": True}

    status, code, _ = error_of(caller.session(renewed["access_token"]))
    assert (status, code) == (401, "session_revoked")
    status, _, _ = error_of(
        caller.post("/auth/token/refresh", {"refresh_token": renewed["refresh_token"]})
    )
    assert status == 401


def test_otp_login_by_mobile_with_the_code_from_the_sms(
    caller: AppCaller, world: World, sms_sink: HttpSink
):
    # 1-2. The user types a mobile number; the app checks them, then asks for a code.
    seen = sum(1 for r in sms_sink.requests if r.json().get("to") == ALICE_MOBILE)
    registered = caller.post("/auth/register", {"login": "+1 (415) 555-0142"})
    assert registered.status_code == 200, registered.text
    assert registered.json()["user"]["auth_user_id"] == world.alice["auth_user_id"]

    challenge = caller.post("/auth/otp/request", {"login": ALICE_MOBILE})
    assert challenge.status_code == 202, challenge.text
    assert challenge.json()["channel"] == "sms"
    assert ALICE_MOBILE not in challenge.json()["destination"]  # masked
    assert "dev_code" not in challenge.json()

    # 5. The code arrives by SMS (the worker called the SMS sink); verify it.
    code = sms_code(sms_sink, ALICE_MOBILE, seen)
    verified = caller.post(
        "/auth/otp/verify",
        {"otp_request_id": challenge.json()["otp_request_id"], "code": code},
    )
    assert verified.status_code == 200, verified.text
    _session_lifecycle(caller, verified.json(), world.alice)


def test_otp_login_by_email_with_the_code_from_the_mail(
    caller: AppCaller, world: World, smtp_sink: SmtpSink
):
    challenge = caller.post("/auth/otp/request", {"login": "Bob@Example.com"})
    assert challenge.status_code == 202, challenge.text
    assert challenge.json()["channel"] == "email"
    code = email_code(smtp_sink, "bob@example.com")
    verified = caller.post("/auth/otp/verify", {"login": "bob@example.com", "code": code})
    assert verified.status_code == 200, verified.text
    _session_lifecycle(caller, verified.json(), world.bob)


def test_password_login(caller: AppCaller, world: World):
    registered = caller.post("/auth/register", {"login": "alice@example.com"})
    assert registered.status_code == 200, registered.text
    login = caller.post("/auth/login", {"login": "alice@example.com", "password": PASSWORD})
    assert login.status_code == 200, login.text
    _session_lifecycle(caller, login.json(), world.alice)


def test_a_wrong_password_gets_no_tokens(caller: AppCaller, world: World):
    response = caller.post("/auth/login", {"login": "alice@example.com", "password": "nope"})
    status, code, _ = error_of(response)
    assert (status, code) == (401, "invalid_credentials")
