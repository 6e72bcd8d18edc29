"""The seed's recommended login flow with a one-time code, step by step, and its channels."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.otp_contract import Channel, Purpose
from shared.settings import Environment, Settings
from tests.auth.support import error_of
from tests.factories import make_user


def test_otp_flow_from_request_to_session(caller, member, outbox):
    # 2. The app asks for a code for what the user typed (their mobile number).
    response = caller.post("/auth/otp/request", {"login": "+1 415 555 0123"})
    assert response.status_code == 202, response.text
    challenge = response.json()
    assert challenge["channel"] == "sms"
    assert challenge["destination"] == "+1******0123"
    assert challenge["expires_in"] == 300
    assert challenge["resend_after"] == 30
    assert "dev_code" not in challenge

    # The code left through the delivery contract, encrypted.
    (task,) = outbox.tasks
    assert (task.channel, task.purpose, task.destination) == (
        Channel.SMS,
        Purpose.LOGIN,
        "+14155550123",
    )
    assert task.user_id == member["auth_user_id"] and task.application_id == caller.app["id"]
    code = outbox.secret()
    assert len(code) == 6 and code.isdigit() and code not in task.secret_encrypted

    # 5. Verify: tokens, and a session recording the device.
    verified = caller.post(
        "/auth/otp/verify",
        {
            "otp_request_id": challenge["otp_request_id"],
            "code": code,
            "device": {"device_id": "d1"},
        },
    )
    assert verified.status_code == 200, verified.text
    tokens = verified.json()
    assert tokens["user"]["auth_user_id"] == member["auth_user_id"]
    assert caller.session(tokens["access_token"]).json()["user"] == tokens["user"]


def test_verify_by_login_instead_of_request_id(caller, member, outbox):
    assert caller.post("/auth/otp/request", {"login": member["email"]}).status_code == 202
    assert outbox.tasks[-1].channel is Channel.EMAIL  # the channel of the login typed
    verified = caller.post("/auth/otp/verify", {"login": member["email"], "code": outbox.secret()})
    assert verified.status_code == 200, verified.text


def test_unknown_and_unassigned_users_get_no_code(caller, admin, outbox):
    assert error_of(caller.post("/auth/otp/request", {"login": "who@example.com"})) == (
        404,
        "user_not_found",
    )
    outsider = make_user(admin)
    assert error_of(caller.post("/auth/otp/request", {"login": outsider["email"]})) == (
        403,
        "not_assigned",
    )
    assert outbox.tasks == []


def test_dev_code_appears_only_when_dev_codes_are_on(caller, member, outbox, dev_codes):
    challenge = caller.post("/auth/otp/request", {"login": member["email"]}).json()
    assert challenge["dev_code"] == outbox.secret()


def test_dev_codes_refuse_to_be_on_in_production():
    with pytest.raises(ValidationError, match="DEV_CODES"):
        Settings(env=Environment.PRODUCTION, secret_key="k" * 40, dev_codes=True)


def test_a_channel_turned_off_is_neither_chosen_nor_accepted(
    caller, member, outbox, runtime, monkeypatch
):
    monkeypatch.setattr(runtime.settings, "otp_sms_enabled", False)
    response = caller.post("/auth/otp/request", {"login": member["mobile_number"]})
    assert response.status_code == 202
    assert response.json()["channel"] == "email"  # the other channel the user has
    explicit = caller.post("/auth/otp/request", {"login": member["email"], "channel": "sms"})
    assert error_of(explicit) == (422, "channel_disabled")
    assert len(outbox.tasks) == 1


def test_a_channel_the_user_lacks_is_refused(caller, admin, outbox):
    email_only = make_user(admin, applications=[caller.app["id"]])
    response = caller.post("/auth/otp/request", {"login": email_only["email"], "channel": "sms"})
    assert error_of(response) == (422, "channel_unavailable")
    assert outbox.tasks == []
