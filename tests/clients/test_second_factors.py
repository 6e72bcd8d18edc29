"""The second step of a sign-in through the library, against the real service: a user with
an authenticator app signs in with codes pyotp computes from the enrolled secret, or with a
recovery code; a code by SMS or email where the step allows one; each refusal its type."""

from __future__ import annotations

import pytest
from identity_client import (
    AsyncIdentityClient,
    InvalidMfaCode,
    MfaBrowserRequired,
    MfaChallenge,
    MfaChallengeExpired,
    MfaEnrollmentRequired,
    MfaMethodUnavailable,
    OtpChallenge,
    TokenPair,
    ValidationFailed,
)

from tests.auth.mfa_support import enrol_totp, make_recovery_codes, step_code
from tests.auth.support import PASSWORD
from tests.auth.test_passkeys import register_passkey
from tests.loops import in_new_loop


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_an_authenticator_app_user_gets_a_challenge_and_finishes_with_its_code(
    identity, app, service_runtime
):
    generator = enrol_totp(service_runtime, app.member["auth_user_id"])
    challenge = identity.login(app.member["email"], PASSWORD)
    assert isinstance(challenge, MfaChallenge)
    assert challenge.methods == ("totp", "otp") and not challenge.code_sent
    assert challenge.otp_request_id is None and 0 < challenge.expires_in <= 300

    with pytest.raises(InvalidMfaCode) as wrong:
        identity.verify_mfa(challenge, "totp", _wrong(generator.now()))
    assert wrong.value.status == 401
    with pytest.raises(MfaMethodUnavailable):  # no recovery codes were made
        identity.verify_mfa(challenge, "recovery_code", "abcd-efgh-ijkl")

    pair = identity.verify_mfa(challenge, "totp", generator.now())  # still open after a miss
    assert isinstance(pair, TokenPair) and pair.user.auth_user_id == app.member["auth_user_id"]
    assert identity.session(pair.access_token).session.session_id == pair.session.session_id
    with pytest.raises(MfaChallengeExpired):  # completed: it cannot be used again
        identity.verify_mfa(challenge, "totp", step_code(generator, 1))


def test_a_recovery_code_by_challenge_id_and_only_once(identity, app, service_runtime):
    enrol_totp(service_runtime, app.member["auth_user_id"])
    codes = make_recovery_codes(service_runtime, app.member["auth_user_id"])
    first = identity.login(app.member["email"], PASSWORD)
    assert isinstance(first, MfaChallenge)
    assert first.methods == ("totp", "recovery_code", "otp")
    assert identity.verify_mfa(first.mfa_challenge_id, "recovery_code", codes[0]).access_token
    again = identity.login(app.member["email"], PASSWORD)
    assert isinstance(again, MfaChallenge)
    with pytest.raises(InvalidMfaCode):
        identity.verify_mfa(again, "recovery_code", codes[0])
    with pytest.raises(ValidationFailed):  # malformed, said before any code is checked
        identity.verify_mfa(again, "fingerprint", codes[1])
    assert identity.verify_mfa(again, "recovery_code", codes[1]).access_token


def test_a_code_by_sms_or_email_instead_of_the_app(identity, app, service_runtime, outbox):
    enrol_totp(service_runtime, app.member["auth_user_id"])
    challenge = identity.login(app.member["email"], PASSWORD)
    assert isinstance(challenge, MfaChallenge) and outbox.tasks == []  # nothing sent yet
    sent = identity.send_mfa_code(challenge, channel="sms")
    assert isinstance(sent, OtpChallenge) and sent.channel == "sms" and "*" in sent.destination
    pair = identity.verify_otp(outbox.secret(), otp_request_id=sent.otp_request_id)
    assert isinstance(pair, TokenPair) and pair.user.auth_user_id == app.member["auth_user_id"]


def test_a_code_sign_in_of_an_app_user_asks_for_the_app_next(
    identity, app, service_runtime, outbox
):
    generator = enrol_totp(service_runtime, app.member["auth_user_id"])
    started = identity.request_otp(app.member["email"])
    challenge = identity.verify_otp(outbox.secret(), otp_request_id=started.otp_request_id)
    assert isinstance(challenge, MfaChallenge) and challenge.methods == ("totp",)
    with pytest.raises(MfaMethodUnavailable):  # a second code is no second factor
        identity.send_mfa_code(challenge)
    pair = identity.verify_mfa(challenge, "totp", generator.now())
    assert pair.user.auth_user_id == app.member["auth_user_id"]


def test_a_code_is_sent_at_once_when_it_is_the_only_second_factor(identity, app, admin, outbox):
    admin.patch(f"/directory/users/{app.member['auth_user_id']}", json={"mfa_enabled": True})
    challenge = identity.login(app.member["email"], PASSWORD)
    assert isinstance(challenge, MfaChallenge)
    assert challenge.methods == ("otp",) and challenge.code_sent
    assert challenge.channel == "email" and challenge.resend_after is not None
    assert len(outbox.tasks) == 1
    assert identity.verify_otp(outbox.secret(), otp_request_id=challenge.otp_request_id)


def test_nothing_that_counts_enrolled_is_refused_with_where_to_enrol(
    identity, app, admin, service_runtime, monkeypatch
):
    monkeypatch.setattr(service_runtime.settings, "mfa_otp_counts", False)
    admin.patch(f"/directory/users/{app.member['auth_user_id']}", json={"mfa_enabled": True})
    with pytest.raises(MfaEnrollmentRequired) as refused:
        identity.login(app.member["email"], PASSWORD)
    assert refused.value.status == 403
    assert f"{service_runtime.tokens.issuer}/account" in str(refused.value)


def test_a_passkey_alone_needs_the_hosted_page(identity, app, service_runtime, monkeypatch):
    monkeypatch.setattr(service_runtime.settings, "mfa_otp_counts", False)
    register_passkey(service_runtime, app.member["auth_user_id"])
    with pytest.raises(MfaBrowserRequired) as refused:
        identity.login(app.member["email"], PASSWORD)
    assert refused.value.status == 403 and refused.value.code == "mfa_browser_required"


def test_the_async_client_has_the_second_step_too(base_url, app, service_runtime, outbox):
    generator = enrol_totp(service_runtime, app.member["auth_user_id"])

    async def scenario() -> None:
        async with AsyncIdentityClient(base_url, app.key, application_id=app.id) as identity:
            challenge = await identity.login(app.member["email"], PASSWORD)
            assert isinstance(challenge, MfaChallenge)
            with pytest.raises(InvalidMfaCode):
                await identity.verify_mfa(challenge, "totp", _wrong(generator.now()))
            pair = await identity.verify_mfa(challenge.mfa_challenge_id, "totp", generator.now())
            assert (await identity.verify(pair.access_token)).subject == app.member["auth_user_id"]
            second = await identity.login(app.member["email"], PASSWORD)
            assert isinstance(second, MfaChallenge)
            sent = await identity.send_mfa_code(second)
            by_code = await identity.verify_otp(outbox.secret(), otp_request_id=sent.otp_request_id)
            assert isinstance(by_code, TokenPair)

    in_new_loop(scenario)
