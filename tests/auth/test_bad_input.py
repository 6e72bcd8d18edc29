"""Garbage in: a clear 4xx in the error envelope, and nothing changed or sent."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shared.models import AuthSession, Device, PasswordResetToken
from tests.auth.support import AppCaller, error_of
from tests.factories import make_app_with_key

CASES = [
    ("/auth/register", {}),
    ("/auth/register", {"login": ""}),
    ("/auth/register", {"login": "x" * 300}),
    ("/auth/register", {"login": "not a login"}),
    ("/auth/register", {"login": "a@example.com", "extra": 1}),
    ("/auth/login", {"login": "a@example.com"}),
    ("/auth/login", {"login": "a@example.com", "password": ""}),
    ("/auth/login", {"login": "a@example.com", "password": "p" * 2000}),
    ("/auth/login", {"login": "+1 415 555", "password": "whatever-it-is"}),
    ("/auth/login", {"login": "a@example.com", "password": "x", "device": {"name": "no id"}}),
    (
        "/auth/login",
        {"login": "a@example.com", "password": "x", "device": {"device_id": "d" * 200}},
    ),
    ("/auth/otp/request", {"login": "a@example.com", "channel": "pigeon"}),
    ("/auth/otp/verify", {"code": "123456"}),
    ("/auth/otp/verify", {"otp_request_id": "r", "login": "a@example.com", "code": "123456"}),
    ("/auth/otp/verify", {"otp_request_id": "r", "code": "12ab56"}),
    ("/auth/otp/verify", {"otp_request_id": "r" * 100, "code": "123456"}),
    ("/auth/token/refresh", {}),
    ("/auth/token/refresh", {"refresh_token": "x" * 300}),
    ("/auth/logout", {"refresh_token": ""}),
    ("/auth/password/request-reset", {"login": None}),
    ("/auth/password/reset", {"token": "short", "new_password": "copper-kettle-horizon-77"}),
    ("/auth/password/reset", {"token": "t" * 32}),
]


def _counts(runtime) -> tuple[int, int, int]:
    with runtime.session_factory() as db:
        return tuple(  # type: ignore[return-value]
            db.scalar(select(func.count()).select_from(model))
            for model in (AuthSession, Device, PasswordResetToken)
        )


@pytest.mark.parametrize(("path", "body"), CASES)
def test_bad_bodies_are_422_and_change_nothing(caller, member, runtime, outbox, path, body):
    before = _counts(runtime)
    response = caller.post(path, body)
    assert error_of(response) == (422, "validation_error"), response.text
    assert response.json()["error"]["message"]
    assert _counts(runtime) == before
    assert outbox.tasks == []


def test_not_json_at_all(caller):
    headers = {**caller.headers(), "content-type": "application/json"}
    response = caller.client.post("/auth/login", content=b"\xff\xfe{", headers=headers)
    # Like malformed JSON: the declared 422, not an undeclared 400 (found by tests/fuzz).
    assert response.status_code == 422
    assert response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/auth/register"),
        ("POST", "/auth/otp/request"),
        ("POST", "/auth/otp/verify"),
        ("POST", "/auth/login"),
        ("GET", "/auth/session"),
        ("POST", "/auth/token/refresh"),
        ("POST", "/auth/logout"),
        ("POST", "/auth/password/request-reset"),
        ("POST", "/auth/password/reset"),
    ],
)
def test_every_app_endpoint_runs_the_pipeline(auth_client, admin, method, path):
    no_key = auth_client.request(method, path, json={})
    assert error_of(no_key) == (401, "invalid_api_key")
    _, blocked_key = make_app_with_key(admin, allowed_ips=["10.9.9.0/24"])
    blocked = auth_client.request(
        method, path, json={}, headers={"X-Auth-Service-Key": blocked_key}
    )
    assert error_of(blocked) == (403, "ip_not_allowed")
    _, closed_key = make_app_with_key(admin, allowed_ips=[])  # fail-closed: no networks at all
    closed = auth_client.request(method, path, json={}, headers={"X-Auth-Service-Key": closed_key})
    assert error_of(closed) == (403, "ip_not_allowed")
    _, disabled_key = make_app_with_key(admin, status="disabled")
    disabled = auth_client.request(
        method, path, json={}, headers={"X-Auth-Service-Key": disabled_key}
    )
    assert error_of(disabled) == (403, "app_disabled")


def test_disabled_users_are_refused_everywhere(caller, member, admin, outbox):
    tokens = caller.signed_in(member["email"])
    admin.patch(f"/directory/users/{member['auth_user_id']}", json={"status": "disabled"})
    for response in (
        caller.post("/auth/register", {"login": member["email"]}),
        caller.login(member["email"]),
        caller.post("/auth/otp/request", {"login": member["email"]}),
        caller.post("/auth/password/request-reset", {"login": member["email"]}),
    ):
        assert error_of(response) == (403, "user_disabled"), response.text
    assert caller.refresh(tokens["refresh_token"]).status_code == 401
    assert outbox.tasks == []


def test_a_user_can_be_checked_by_another_registered_app(auth_client, admin, member):
    other_app, other_key = make_app_with_key(admin)
    other = AppCaller(auth_client, other_key, other_app)
    assert error_of(other.post("/auth/register", {"login": member["email"]})) == (
        403,
        "not_assigned",
    )
