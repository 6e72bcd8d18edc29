"""Every app-facing endpoint through the library, against the real service: typed answers,
typed errors drawn from the envelope (the seed's two messages each their own type)."""

from __future__ import annotations

import pytest
from identity_client import (
    AsyncIdentityClient,
    Device,
    IdentityClient,
    InvalidApiKey,
    InvalidCredentials,
    InvalidOtp,
    InvalidResetToken,
    MfaChallenge,
    NotAssigned,
    RefreshTokenReused,
    SessionRevoked,
    TokenPair,
    UserDisabled,
    UserNotFound,
    ValidationFailed,
    WeakPassword,
)

from tests.auth.support import PASSWORD
from tests.factories import make_user
from tests.loops import in_new_loop


def test_register_and_the_seeds_two_messages(identity, app, admin):
    user = identity.register(app.member["email"])
    assert user.auth_user_id == app.member["auth_user_id"] and user.is_active
    with pytest.raises(UserNotFound) as unknown:
        identity.register("nobody@example.com")
    assert str(unknown.value) == "User not in the directory service."
    stranger = make_user(admin, email="carol@example.com")
    with pytest.raises(NotAssigned) as refused:
        identity.register(stranger["email"])
    assert str(refused.value) == (
        "You are not allowed to access this application. Contact Administrator."
    )
    assert refused.value.status == 403 and refused.value.code == "not_assigned"
    admin.patch(f"/directory/users/{app.member['auth_user_id']}", json={"status": "disabled"})
    with pytest.raises(UserDisabled):
        identity.register(app.member["email"])


def test_password_login_session_refresh_and_logout(identity, app):
    pair = identity.login(app.member["email"], PASSWORD, Device("laptop-1", "Grace's laptop"))
    assert isinstance(pair, TokenPair) and pair.user.email == app.member["email"]
    info = identity.session(pair.access_token)
    assert info.session.session_id == pair.session.session_id
    fresh = identity.refresh(pair.refresh_token)
    assert fresh.refresh_token != pair.refresh_token
    assert identity.refresh(pair.refresh_token).refresh_token == fresh.refresh_token  # a retry
    identity.logout(refresh_token=fresh.refresh_token)
    with pytest.raises(SessionRevoked):
        identity.session(fresh.access_token)
    identity.logout(access_token=fresh.access_token)  # a second time is harmless
    with pytest.raises(InvalidCredentials):
        identity.login(app.member["email"], "not the password")


def test_a_refresh_token_replayed_after_its_successor_revokes_the_session(identity, app):
    first = identity.login(app.member["email"], PASSWORD)
    assert isinstance(first, TokenPair)
    second = identity.refresh(first.refresh_token)
    identity.refresh(second.refresh_token)
    with pytest.raises(RefreshTokenReused):
        identity.refresh(first.refresh_token)


def test_otp_request_and_verify_by_request_id_and_by_login(identity, app, outbox):
    challenge = identity.request_otp(app.member["mobile_number"])
    assert challenge.channel == "sms" and "*" in challenge.destination
    wrong = f"{(int(outbox.secret()) + 1) % 10**6:06d}"
    with pytest.raises(InvalidOtp) as refused:
        identity.verify_otp(wrong, otp_request_id=challenge.otp_request_id)
    assert refused.value.attempts_left == 4
    pair = identity.verify_otp(outbox.secret(), otp_request_id=challenge.otp_request_id)
    assert pair.user.auth_user_id == app.member["auth_user_id"]
    identity.request_otp(app.member["email"], channel="email")
    assert identity.verify_otp(outbox.secret(), login=app.member["email"]).access_token


def test_mfa_login_answers_a_challenge(identity, app, admin, outbox):
    admin.patch(f"/directory/users/{app.member['auth_user_id']}", json={"mfa_enabled": True})
    challenge = identity.login(app.member["email"], PASSWORD)
    assert isinstance(challenge, MfaChallenge)
    pair = identity.verify_otp(outbox.secret(), otp_request_id=challenge.otp_request_id)
    assert pair.access_token


def test_password_reset(identity, app, outbox, service_runtime):
    started = identity.request_password_reset(app.member["email"])
    assert started.channel == "email"
    token = outbox.secret().split("#token=", 1)[1]  # the emailed link carries it after '#'

    with pytest.raises(WeakPassword):
        identity.reset_password(token, "password")
    done = identity.reset_password(token, "a brand new passphrase 2026")
    assert done.password_reset is True
    with pytest.raises(InvalidResetToken):
        identity.reset_password(token, "another new passphrase 2026")
    assert isinstance(identity.login(app.member["email"], "a brand new passphrase 2026"), TokenPair)


def test_bad_input_and_a_bad_key_raise_their_types(base_url, identity, app):
    with pytest.raises(ValidationFailed) as invalid:
        identity.register("not a login at all")
    assert invalid.value.status == 422
    stranger = IdentityClient(base_url, "ask_" + "a" * 8 + "_" + "b" * 43)
    with stranger, pytest.raises(InvalidApiKey):
        stranger.register(app.member["email"])


def test_the_async_client_is_the_same_api(base_url, app, outbox):
    async def scenario() -> None:
        async with AsyncIdentityClient(base_url, app.key, application_id=app.id) as identity:
            assert (await identity.register(app.member["email"])).name == "Grace Hopper"
            pair = await identity.login(app.member["email"], PASSWORD)
            assert isinstance(pair, TokenPair)
            assert (await identity.verify(pair.access_token)).subject == app.member["auth_user_id"]
            fresh = await identity.refresh(pair.refresh_token)
            await identity.logout(access_token=fresh.access_token)
            with pytest.raises(SessionRevoked):
                await identity.verify(fresh.access_token, check_revocation=True)
            with pytest.raises(UserNotFound):
                await identity.request_otp("nobody@example.com")
            page = await identity.sync_page()
            assert page.application_id == app.id

    in_new_loop(scenario)
