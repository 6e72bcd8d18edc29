"""OTP rules of DESIGN.md §7: tries, single use, binding, resend, throttles, storage."""

from __future__ import annotations

import time

from tests.auth.support import AppCaller, error_of
from tests.factories import assign, make_app_with_key


def _request(caller, login):
    response = caller.post("/auth/otp/request", {"login": login})
    assert response.status_code == 202, response.text
    return response.json()["otp_request_id"]


def _verify(caller, request_id, code):
    return caller.post("/auth/otp/verify", {"otp_request_id": request_id, "code": code})


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_wrong_codes_count_down_then_429_even_for_the_right_code(caller, member, outbox):
    request_id = _request(caller, member["email"])
    code = outbox.secret()
    for left in (4, 3, 2, 1, 0):
        response = _verify(caller, request_id, _wrong(code))
        assert error_of(response) == (401, "invalid_otp")
        assert response.json()["error"]["attempts_left"] == left
    spent = _verify(caller, request_id, code)
    assert error_of(spent) == (429, "otp_attempts_exceeded")
    assert int(spent.headers["Retry-After"]) > 0


def test_a_code_works_once(caller, member, outbox):
    request_id = _request(caller, member["email"])
    code = outbox.secret()
    assert _verify(caller, request_id, code).status_code == 200
    assert error_of(_verify(caller, request_id, code)) == (401, "otp_expired")


def test_a_resend_replaces_the_code_and_keeps_the_failure_count(
    caller, member, outbox, runtime, monkeypatch
):
    monkeypatch.setattr(runtime.settings, "otp_resend_cooldown_seconds", 0)
    first = _request(caller, member["email"])
    first_code = outbox.secret()
    for _ in range(3):
        assert _verify(caller, first, _wrong(first_code)).status_code == 401
    second = _request(caller, member["email"])
    second_code = outbox.secret()
    # The old request is gone, and the new code is bound to its own request id.
    assert error_of(_verify(caller, first, first_code)) == (401, "otp_expired")
    two_left = _verify(caller, second, _wrong(second_code))
    assert two_left.json()["error"]["attempts_left"] == 1
    assert _verify(caller, second, _wrong(second_code)).json()["error"]["attempts_left"] == 0
    assert error_of(_verify(caller, second, second_code)) == (429, "otp_attempts_exceeded")
    # Asking for yet another code does not help either.
    assert error_of(caller.post("/auth/otp/request", {"login": member["email"]})) == (
        429,
        "otp_attempts_exceeded",
    )


def test_resend_cooldown_is_a_429_with_retry_after(caller, member, outbox):
    _request(caller, member["email"])
    again = caller.post("/auth/otp/request", {"login": member["email"]})
    assert error_of(again) == (429, "otp_throttled")
    assert 0 < int(again.headers["Retry-After"]) <= 30
    assert again.json()["error"]["retry_after"] == int(again.headers["Retry-After"])
    assert len(outbox.tasks) == 1


def test_hourly_cap_per_login(caller, member, outbox, runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "otp_resend_cooldown_seconds", 0)
    monkeypatch.setattr(runtime.settings, "otp_hourly_cap_per_login", 3)
    for _ in range(3):
        _request(caller, member["email"])
    capped = caller.post("/auth/otp/request", {"login": member["email"]})
    assert error_of(capped) == (429, "otp_throttled")
    assert 3000 < int(capped.headers["Retry-After"]) <= 3600
    assert len(outbox.tasks) == 3


def test_hourly_cap_per_ip(caller, member, runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "otp_hourly_cap_per_ip", 2)
    for login in ("a@example.com", "b@example.com"):  # unknown logins count too
        assert caller.post("/auth/otp/request", {"login": login}).status_code == 404
    capped = caller.post("/auth/otp/request", {"login": member["email"]})
    assert error_of(capped) == (429, "otp_throttled")


def test_a_code_expires(caller, member, outbox, runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "otp_ttl_seconds", 1)
    request_id = _request(caller, member["email"])
    time.sleep(1.2)
    assert error_of(_verify(caller, request_id, outbox.secret())) == (401, "otp_expired")


def test_only_a_keyed_hash_of_the_code_is_stored(caller, member, outbox, runtime):
    _request(caller, member["email"])
    code = outbox.secret()
    for key in runtime.redis.scan_iter(match=runtime.keys("auth", "otp", "*")):
        kind = runtime.redis.type(key)
        values = runtime.redis.hvals(key) if kind == "hash" else [runtime.redis.get(key)]
        assert all(code not in str(v) for v in values)


def test_another_application_cannot_verify_the_code(caller, member, outbox, admin, auth_client):
    other_app, other_key = make_app_with_key(admin)
    assign(admin, member["auth_user_id"], [caller.app["id"], other_app["id"]])
    request_id = _request(caller, member["email"])
    other = AppCaller(auth_client, other_key, other_app)
    assert error_of(_verify(other, request_id, outbox.secret())) == (401, "otp_expired")
    assert _verify(caller, request_id, outbox.secret()).status_code == 200


def test_a_code_does_not_sign_in_a_user_unassigned_since_it_was_sent(caller, member, outbox, admin):
    request_id = _request(caller, member["email"])
    assign(admin, member["auth_user_id"], [])
    assert error_of(_verify(caller, request_id, outbox.secret())) == (403, "not_assigned")


def test_a_code_does_not_sign_in_a_user_disabled_since_it_was_sent(caller, member, outbox, admin):
    request_id = _request(caller, member["email"])
    admin.patch(f"/directory/users/{member['auth_user_id']}", json={"status": "disabled"})
    assert error_of(_verify(caller, request_id, outbox.secret())) == (403, "user_disabled")
