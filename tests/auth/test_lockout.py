"""Brute-force protection for password login: lockout, growing delay, reset on success, audit."""

from __future__ import annotations

import time

from shared.audit import EventType
from tests.auth.support import audit_events, error_of


def _fail(caller, login, times):
    for _ in range(times):
        assert error_of(caller.login(login, "not-the-password")) == (401, "invalid_credentials")


def test_five_failures_lock_the_account_even_for_the_right_password(caller, member, runtime):
    _fail(caller, member["email"], 5)
    locked = caller.login(member["email"])
    assert error_of(locked) == (429, "account_locked")
    assert 0 < int(locked.headers["Retry-After"]) <= 60
    # The same account through its other login is locked too.
    assert error_of(caller.login(member["mobile_number"])) == (429, "account_locked")
    (event,) = audit_events(runtime, EventType.ACCOUNT_LOCKED)
    assert event.subject_user_id == member["auth_user_id"]
    assert event.details["scope"] == "account" and event.details["seconds"] == 60


def test_each_lockout_lasts_longer(caller, member, runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "lockout_base_seconds", 1)
    _fail(caller, member["email"], 5)
    first = int(caller.login(member["email"]).headers["Retry-After"])
    time.sleep(1.1)
    _fail(caller, member["email"], 5)
    second = int(caller.login(member["email"]).headers["Retry-After"])
    assert (first, second) == (1, 2)


def test_a_success_clears_the_account_counter(caller, member):
    _fail(caller, member["email"], 4)
    assert caller.login(member["email"]).status_code == 200
    _fail(caller, member["email"], 4)
    assert caller.login(member["email"]).status_code == 200


def test_unknown_logins_cost_an_argon2_check_and_are_throttled_alike(caller, runtime, monkeypatch):
    checked: list[str | None] = []
    real_verify = runtime.passwords.verify

    def recording_verify(stored, password):
        checked.append(stored)
        return real_verify(stored, password)

    monkeypatch.setattr(runtime.passwords, "verify", recording_verify)
    _fail(caller, "ghost@example.com", 5)
    assert checked == [None] * 5  # each one verified against the dummy hash
    assert error_of(caller.login("ghost@example.com")) == (429, "account_locked")


def test_failures_from_one_address_lock_that_address(caller, member, admin, runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "ip_failure_threshold", 6)
    for n in range(6):
        assert caller.login(f"probe-{n}@example.com", "guess").status_code == 401
    assert error_of(caller.login(member["email"])) == (429, "account_locked")
    scopes = [e.details["scope"] for e in audit_events(runtime, EventType.ACCOUNT_LOCKED)]
    assert scopes == ["ip"]


def test_failed_logins_are_audited(caller, member, runtime):
    _fail(caller, member["email"], 1)
    (event,) = audit_events(runtime, EventType.LOGIN_FAILED)
    assert event.subject_user_id == member["auth_user_id"]
    assert event.application_id == caller.app["id"]
    assert "not-the-password" not in str(event.model_dump())
