"""Password recovery: token by OTP delivery, single use, short-lived, sessions end, MFA stays."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, update

from shared.models import PasswordResetToken, UserAccount
from shared.models.base import utcnow
from shared.otp_contract import Channel, Purpose
from tests.auth.support import PASSWORD, error_of
from tests.factories import make_user

NEW_PASSWORD = "copper-kettle-horizon-77"


def _request_reset(caller, login, **headers):
    response = caller.client.post(
        "/auth/password/request-reset",
        json={"login": login},
        headers={**caller.headers(), **headers},
    )
    assert response.status_code == 202, response.text
    return response.json()


def _token_from_link(link: str) -> str:
    """The token, from the fragment: the part a browser never sends to any server."""
    return parse_qs(urlsplit(link).fragment)["token"][0]


@pytest.fixture
def reset_token(caller, member, outbox):
    _request_reset(caller, member["email"])
    return _token_from_link(outbox.secret())


def test_email_gets_a_link_on_the_public_hostname_never_the_host_header(
    caller, member, outbox, runtime
):
    body = _request_reset(caller, member["email"], host="evil.example")
    assert body == {"channel": "email", "destination": body["destination"], "expires_in": 900}
    assert body["destination"].endswith("@example.com") and "***" in body["destination"]
    (task,) = outbox.tasks
    assert (task.channel, task.purpose) == (Channel.EMAIL, Purpose.PASSWORD_RESET)
    link = outbox.secret()
    assert link.startswith(f"https://{runtime.settings.public_hostname}/reset-password#token=")
    token = _token_from_link(link)
    assert len(token) >= 22  # at least 128 bits, url-safe base64
    # Only after '#': what the server, a proxy or an access log sees holds no token.
    assert token not in link.partition("#")[0]


@pytest.mark.parametrize(
    ("configured", "link"),
    [
        ("https://apps.example.com/reset?lang=en", "https://apps.example.com/reset?lang=en#token="),
        # A page routed by its fragment gets the token as a parameter of that route.
        ("https://apps.example.com/#/reset", "https://apps.example.com/#/reset?token="),
        (
            "https://apps.example.com/#/reset?lang=en",
            "https://apps.example.com/#/reset?lang=en&token=",
        ),
    ],
)
def test_a_configured_reset_page_gets_the_token_after_the_hash(
    caller, member, outbox, runtime, monkeypatch, dev_codes, configured, link
):
    monkeypatch.setattr(runtime.settings, "password_reset_url", configured)
    token = _request_reset(caller, member["email"])["dev_token"]
    assert outbox.secret() == link + token


def test_sms_gets_the_token_itself(caller, member, outbox):
    body = _request_reset(caller, member["mobile_number"])
    assert body["channel"] == "sms"
    assert outbox.tasks[0].channel is Channel.SMS
    assert "://" not in outbox.secret()


def test_reset_sets_the_password_and_ends_every_session(caller, member, reset_token, runtime):
    before = caller.signed_in(member["email"])
    response = caller.post(
        "/auth/password/reset", {"token": reset_token, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"password_reset": True, "sessions_revoked": 1}
    assert error_of(caller.session(before["access_token"])) == (401, "session_revoked")
    assert caller.login(member["email"], PASSWORD).status_code == 401
    assert caller.login(member["email"], NEW_PASSWORD).status_code == 200


def test_the_token_works_once(caller, reset_token):
    body = {"token": reset_token, "new_password": NEW_PASSWORD}
    assert caller.post("/auth/password/reset", body).status_code == 200
    again = {"token": reset_token, "new_password": "another-long-passphrase-3"}
    assert error_of(caller.post("/auth/password/reset", again)) == (401, "invalid_reset_token")


def test_an_expired_token_is_refused(caller, reset_token, runtime):
    with runtime.session_factory() as db:
        db.execute(update(PasswordResetToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
    body = {"token": reset_token, "new_password": NEW_PASSWORD}
    assert error_of(caller.post("/auth/password/reset", body)) == (401, "invalid_reset_token")


def test_a_new_request_retires_the_previous_token(caller, member, outbox, runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "otp_resend_cooldown_seconds", 0)
    _request_reset(caller, member["email"])
    first = _token_from_link(outbox.secret())
    _request_reset(caller, member["email"])
    body = {"token": first, "new_password": NEW_PASSWORD}
    assert error_of(caller.post("/auth/password/reset", body)) == (401, "invalid_reset_token")


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "at least 12"),
        ("qwertyuiop123", "too common"),
        ("grace-hopper-rules", "your name"),
    ],
)
def test_a_weak_password_is_422_and_leaves_everything_as_it_was(
    caller, member, reset_token, runtime, password, message
):
    with runtime.session_factory() as db:
        hash_before = db.scalar(select(UserAccount.password_hash))
    response = caller.post("/auth/password/reset", {"token": reset_token, "new_password": password})
    assert error_of(response) == (422, "weak_password")
    assert message in response.json()["error"]["message"]
    with runtime.session_factory() as db:
        assert db.scalar(select(UserAccount.password_hash)) == hash_before
    fixed = caller.post(
        "/auth/password/reset", {"token": reset_token, "new_password": NEW_PASSWORD}
    )
    assert fixed.status_code == 200  # the token survived the bad try


def test_mfa_is_still_required_after_a_reset(caller, member, admin, reset_token):
    admin.patch(f"/directory/users/{member['auth_user_id']}", json={"mfa_enabled": True})
    caller.post("/auth/password/reset", {"token": reset_token, "new_password": NEW_PASSWORD})
    assert caller.login(member["email"], NEW_PASSWORD).json()["mfa_required"] is True


def test_only_a_keyed_hash_of_the_token_is_stored(caller, reset_token, runtime):
    with runtime.session_factory() as db:
        stored = db.scalar(select(PasswordResetToken.token_hash))
    assert stored == runtime.box.keyed_hash(reset_token) and reset_token not in stored


def test_dev_token_only_when_dev_codes_are_on(caller, member, outbox, dev_codes):
    body = _request_reset(caller, member["email"])
    assert body["dev_token"] == _token_from_link(outbox.secret())


def test_unknown_and_unassigned_get_the_seed_errors(caller, admin, outbox):
    response = caller.post("/auth/password/request-reset", {"login": "none@example.com"})
    assert error_of(response) == (404, "user_not_found")
    outsider = make_user(admin)
    response = caller.post("/auth/password/request-reset", {"login": outsider["email"]})
    assert error_of(response) == (403, "not_assigned")
    assert outbox.tasks == []
