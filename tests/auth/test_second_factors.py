"""The REST API's second step: `/auth/login` answers `mfa_required`, `/auth/mfa/verify`
completes it with a TOTP (computed by pyotp from the enrolled secret) or a recovery code."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from shared.audit import EventType
from tests.auth.mfa_support import enrol_totp, make_recovery_codes, step_code
from tests.auth.support import PASSWORD, AppCaller, audit_events, error_of
from tests.factories import make_app_with_key, make_user


@pytest.fixture
def with_totp(runtime, member):
    return enrol_totp(runtime, member["auth_user_id"])


def challenge_of(caller: AppCaller, login: str) -> dict:
    answer = caller.login(login)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["mfa_required"] is True and "access_token" not in body
    return body


def verify(caller: AppCaller, challenge: dict, code: str, method: str = "totp"):
    body = {"mfa_challenge_id": challenge["mfa_challenge_id"], "method": method, "code": code}
    return caller.post("/auth/mfa/verify", body)


def test_an_authenticator_app_completes_the_sign_in(caller, member, with_totp, outbox, runtime):
    challenge = challenge_of(caller, member["email"])
    assert challenge["methods"] == ["totp", "otp"]
    assert "otp_request_id" not in challenge and outbox.tasks == []  # no SMS spent on it
    signed_in = verify(caller, challenge, with_totp.now())
    assert signed_in.status_code == 200, signed_in.text
    assert caller.session(signed_in.json()["access_token"]).status_code == 200
    (succeeded,) = audit_events(runtime, EventType.LOGIN_SUCCEEDED)
    assert succeeded.details["method"] == "password+totp"
    (verified,) = audit_events(runtime, EventType.MFA_VERIFIED)
    assert verified.details["method"] == "totp"
    assert verified.subject_user_id == member["auth_user_id"]


def test_a_code_is_accepted_once(caller, member, with_totp):
    code = with_totp.now()
    assert verify(caller, challenge_of(caller, member["email"]), code).status_code == 200
    replay = verify(caller, challenge_of(caller, member["email"]), code)
    assert error_of(replay) == (401, "invalid_mfa_code")


def test_an_older_code_after_a_newer_one_is_a_replay(caller, member, with_totp):
    assert (
        verify(caller, challenge_of(caller, member["email"]), step_code(with_totp, 1)).status_code
        == 200
    )
    older = verify(caller, challenge_of(caller, member["email"]), step_code(with_totp, 0))
    assert error_of(older) == (401, "invalid_mfa_code")


@pytest.mark.parametrize("steps", [-2, 3], ids=["two steps behind", "three steps ahead"])
def test_a_clock_off_by_more_than_one_step_is_refused(caller, member, with_totp, steps):
    # Two steps behind stays out of reach even if the step ticks meanwhile; ahead, three.
    challenge = challenge_of(caller, member["email"])
    assert error_of(verify(caller, challenge, step_code(with_totp, steps))) == (
        401,
        "invalid_mfa_code",
    )
    # One step of drift is allowed (ahead: still within one if the step ticks meanwhile).
    assert verify(caller, challenge, step_code(with_totp, 1)).status_code == 200


def test_a_recovery_code_is_used_once(caller, member, runtime):
    codes = make_recovery_codes(runtime, member["auth_user_id"])
    enrol_totp(runtime, member["auth_user_id"])
    challenge = challenge_of(caller, member["email"])
    assert challenge["methods"] == ["totp", "recovery_code", "otp"]
    typed = codes[3].upper().replace("-", " ")  # as read off paper
    assert verify(caller, challenge, typed, "recovery_code").status_code == 200
    again = verify(caller, challenge_of(caller, member["email"]), codes[3], "recovery_code")
    assert error_of(again) == (401, "invalid_mfa_code")
    (verified,) = audit_events(runtime, EventType.MFA_VERIFIED)
    assert verified.details == {
        "audience": "app",
        "method": "recovery_code",
        "recovery_codes_left": 9,
    }


def test_one_code_on_two_racing_challenges_signs_in_once(caller, member, with_totp):
    challenges = [challenge_of(caller, member["email"]) for _ in range(2)]
    code = with_totp.now()
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda c: verify(caller, c, code).status_code, challenges))
    assert sorted(answers) == [200, 401]


def test_wrong_codes_count_towards_the_password_lockout(caller, member, with_totp, runtime):
    threshold = runtime.settings.lockout_threshold
    challenge = challenge_of(caller, member["email"])
    for _ in range(threshold - 2):
        assert error_of(verify(caller, challenge, "000000")) == (401, "invalid_mfa_code")
    # The same counter: the wrong passwords that follow reach the threshold.
    assert error_of(caller.login(member["email"], "wrong-password")) == (401, "invalid_credentials")
    assert error_of(caller.login(member["email"], "wrong-password")) == (401, "invalid_credentials")
    assert error_of(caller.login(member["email"])) == (429, "account_locked")
    # And the right code is no way around the lock.
    assert error_of(verify(caller, challenge, with_totp.now())) == (429, "account_locked")
    failed = audit_events(runtime, EventType.MFA_VERIFY_FAILED)
    assert [e.details["reason"] for e in failed] == ["wrong_code"] * (threshold - 2) + ["locked"]


def test_a_challenge_belongs_to_its_application(
    admin, auth_client, caller, member, with_totp, application
):
    other_app, other_key = make_app_with_key(admin)
    challenge = challenge_of(caller, member["email"])
    elsewhere = AppCaller(auth_client, other_key, other_app)
    answer = verify(elsewhere, challenge, with_totp.now())
    assert error_of(answer) == (401, "mfa_challenge_expired")
    assert verify(caller, challenge, with_totp.now()).status_code == 200  # still usable here


def test_a_method_not_offered_is_refused(caller, member, with_totp):
    challenge = challenge_of(caller, member["email"])
    answer = verify(caller, challenge, "abcde-fghjk", "recovery_code")
    assert error_of(answer) == (422, "mfa_method_unavailable")


@pytest.mark.parametrize(
    "body",
    [
        {"method": "totp", "code": "123456"},
        {"mfa_challenge_id": "x", "method": "sms", "code": "123456"},
        {"mfa_challenge_id": "x", "method": "totp", "code": "12"},
        {"mfa_challenge_id": "x" * 65, "method": "totp", "code": "123456"},
    ],
    ids=["no challenge", "unknown method", "short code", "long id"],
)
def test_bad_input_is_a_422(caller, body):
    assert error_of(caller.post("/auth/mfa/verify", body)) == (422, "validation_error")


def test_an_unknown_challenge_is_expired(caller):
    body = {"mfa_challenge_id": "nope", "method": "totp", "code": "123456"}
    assert error_of(caller.post("/auth/mfa/verify", body)) == (401, "mfa_challenge_expired")


def test_a_user_disabled_meanwhile_is_refused(admin, caller, member, with_totp):
    challenge = challenge_of(caller, member["email"])
    patch = admin.patch(f"/directory/users/{member['auth_user_id']}", json={"status": "disabled"})
    assert patch.status_code == 200
    assert error_of(verify(caller, challenge, with_totp.now())) == (403, "user_disabled")


def test_a_code_by_sms_or_email_instead(caller, member, with_totp, outbox):
    challenge = challenge_of(caller, member["email"])
    sent = caller.post("/auth/mfa/otp", {"mfa_challenge_id": challenge["mfa_challenge_id"]})
    assert sent.status_code == 202, sent.text
    assert sent.json()["channel"] == "email"
    done = caller.post(
        "/auth/otp/verify",
        {"otp_request_id": sent.json()["otp_request_id"], "code": outbox.secret()},
    )
    assert done.status_code == 200, done.text


def test_a_challenge_completed_with_a_code_is_over(caller, member, with_totp, outbox):
    challenge = challenge_of(caller, member["email"])
    sent = caller.post("/auth/mfa/otp", {"mfa_challenge_id": challenge["mfa_challenge_id"]})
    body = {"otp_request_id": sent.json()["otp_request_id"], "code": outbox.secret()}
    assert caller.post("/auth/otp/verify", body).status_code == 200
    # One password, one sign-in: the authenticator cannot complete it a second time.
    assert error_of(verify(caller, challenge, with_totp.now())) == (401, "mfa_challenge_expired")


def test_a_code_sent_for_a_challenge_completed_otherwise_is_worthless(
    caller, member, with_totp, outbox
):
    challenge = challenge_of(caller, member["email"])
    sent = caller.post("/auth/mfa/otp", {"mfa_challenge_id": challenge["mfa_challenge_id"]})
    assert verify(caller, challenge, with_totp.now()).status_code == 200
    body = {"otp_request_id": sent.json()["otp_request_id"], "code": outbox.secret()}
    assert error_of(caller.post("/auth/otp/verify", body)) == (401, "mfa_challenge_expired")


def test_codes_by_sms_or_email_may_not_count(caller, member, with_totp, runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "mfa_otp_counts", False)
    challenge = challenge_of(caller, member["email"])
    assert challenge["methods"] == ["totp"]
    sent = caller.post("/auth/mfa/otp", {"mfa_challenge_id": challenge["mfa_challenge_id"]})
    assert error_of(sent) == (422, "mfa_method_unavailable")


def test_an_otp_sign_in_of_a_user_with_an_app_asks_for_it(caller, member, with_totp, outbox):
    requested = caller.post("/auth/otp/request", {"login": member["email"]})
    assert requested.status_code == 202
    answer = caller.post(
        "/auth/otp/verify",
        {"otp_request_id": requested.json()["otp_request_id"], "code": outbox.secret()},
    )
    assert answer.status_code == 200, answer.text
    challenge = answer.json()
    assert challenge["mfa_required"] is True and challenge["methods"] == ["totp"]
    assert "refresh_token" not in challenge
    assert verify(caller, challenge, with_totp.now()).status_code == 200


def test_the_mfa_flag_with_nothing_enrolled_keeps_the_seed_s_code(caller, admin, member, outbox):
    admin.patch(f"/directory/users/{member['auth_user_id']}", json={"mfa_enabled": True})
    challenge = challenge_of(caller, member["email"])
    assert challenge["methods"] == ["otp"] and challenge["otp_request_id"]
    assert len(outbox.tasks) == 1


def test_nothing_that_counts_enrolled_means_enrol_first(
    caller, admin, member, runtime, monkeypatch
):
    monkeypatch.setattr(runtime.settings, "mfa_otp_counts", False)
    admin.patch(f"/directory/users/{member['auth_user_id']}", json={"mfa_enabled": True})
    answer = caller.login(member["email"])
    assert error_of(answer) == (403, "mfa_enrollment_required")
    assert f"{runtime.tokens.issuer}/account" in answer.json()["error"]["message"]


def test_an_application_may_require_a_second_factor(caller, admin, member, application, outbox):
    response = admin.patch(
        f"/directory/applications/{application[0]['id']}", json={"require_mfa": True}
    )
    assert response.status_code == 200 and response.json()["require_mfa"] is True
    assert challenge_of(caller, member["email"])["methods"] == ["otp"]
    assert outbox.tasks[-1].purpose.value == "mfa"


def test_the_deployment_may_require_one_everywhere(caller, member, runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "mfa_required", True)
    assert challenge_of(caller, member["email"])["methods"] == ["otp"]


def test_a_passkey_only_user_is_sent_to_the_hosted_page(caller, member, runtime, monkeypatch):
    from tests.auth.test_passkeys import register_passkey

    register_passkey(runtime, member["auth_user_id"])
    monkeypatch.setattr(runtime.settings, "mfa_otp_counts", False)
    answer = caller.login(member["email"])
    assert error_of(answer) == (403, "mfa_browser_required")
    assert f"{runtime.tokens.issuer}/account" in answer.json()["error"]["message"]


def test_the_console_sign_in_takes_a_code_from_the_app(auth_client, admin, runtime):
    boss = make_user(admin, name="Ada Admin", is_admin=True, password=PASSWORD)
    generator = enrol_totp(runtime, boss["auth_user_id"])
    first = auth_client.post(
        "/auth/admin/login", json={"login": boss["email"], "password": PASSWORD}
    )
    assert first.status_code == 200 and first.json()["mfa_required"] is True
    body = {
        "mfa_challenge_id": first.json()["mfa_challenge_id"],
        "method": "totp",
        "code": generator.now(),
    }
    tokens = auth_client.post("/auth/admin/mfa/verify", json=body)
    assert tokens.status_code == 200, tokens.text
    # An application's challenge id does not sign in to the console, nor the reverse.
    assert uuid.UUID(tokens.json()["user"]["auth_user_id"]) == uuid.UUID(boss["auth_user_id"])


def test_an_administrator_resets_a_user_s_second_factors(
    admin_auth, caller, member, runtime, with_totp
):
    from tests.auth.test_passkeys import register_passkey

    codes = make_recovery_codes(runtime, member["auth_user_id"])
    register_passkey(runtime, member["auth_user_id"])
    used = verify(caller, challenge_of(caller, member["email"]), codes[0], "recovery_code")
    assert used.status_code == 200
    tokens = verify(caller, challenge_of(caller, member["email"]), with_totp.now()).json()
    path = f"/auth/admin/users/{member['auth_user_id']}/second-factors"
    listed = admin_auth.get(path).json()
    assert listed["totp"] is True and listed["recovery_codes_left"] == 9
    assert [p["name"] for p in listed["passkeys"]] == ["Test key"]
    counts = admin_auth.get("/auth/admin/activity", params={"user_id": member["auth_user_id"]})
    assert counts.json()["counts"][member["auth_user_id"]]["second_factors"] == [
        "passkey",
        "totp",
        "recovery_code",
    ]
    reset = admin_auth.delete(path)
    assert reset.status_code == 200, reset.text
    assert reset.json() == {
        "removed": {"totp": 1, "passkeys": 1, "recovery_codes": 9},
        "sessions_revoked": 2,
    }
    assert caller.session(tokens["access_token"]).status_code == 401
    assert admin_auth.get(path).json()["passkeys"] == []
    assert caller.signed_in(member["email"])["access_token"]  # the password alone again
    (event,) = audit_events(runtime, EventType.ADMIN_MFA_RESET)
    assert event.actor_type == "admin" and event.subject_user_id == member["auth_user_id"]
    assert error_of(admin_auth.delete(f"/auth/admin/users/{uuid.uuid4()}/second-factors")) == (
        404,
        "user_not_found",
    )
