"""MFA: the password alone gets `mfa_required` and a code; tokens only after the code."""

from __future__ import annotations

import pytest

from shared.otp_contract import Purpose
from tests.auth.support import PASSWORD, error_of


@pytest.fixture
def mfa_member(admin, member):
    response = admin.patch(f"/directory/users/{member['auth_user_id']}", json={"mfa_enabled": True})
    assert response.status_code == 200
    return member


def test_password_then_code(caller, mfa_member, outbox):
    first = caller.login(mfa_member["email"])
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["mfa_required"] is True
    assert "access_token" not in body and "refresh_token" not in body
    assert body["channel"] == "email" and body["destination"].endswith("@example.com")
    (task,) = outbox.tasks
    assert task.purpose is Purpose.MFA

    verified = caller.post(
        "/auth/otp/verify", {"otp_request_id": body["otp_request_id"], "code": outbox.secret()}
    )
    assert verified.status_code == 200, verified.text
    assert caller.session(verified.json()["access_token"]).status_code == 200


def test_a_wrong_password_sends_no_code(caller, mfa_member, outbox):
    assert error_of(caller.login(mfa_member["email"], "wrong-password")) == (
        401,
        "invalid_credentials",
    )
    assert outbox.tasks == []


def test_the_code_alone_of_another_request_is_not_enough(caller, mfa_member, outbox):
    body = caller.login(mfa_member["email"], PASSWORD).json()
    wrong = f"{(int(outbox.secret()) + 1) % 10**6:06d}"
    response = caller.post(
        "/auth/otp/verify", {"otp_request_id": body["otp_request_id"], "code": wrong}
    )
    assert error_of(response) == (401, "invalid_otp")
