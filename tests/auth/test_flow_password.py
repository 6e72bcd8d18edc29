"""The seed's recommended login flow for consuming apps, with a password, step by step."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from auth.sessions import repository
from auth.sessions.tokens import hash_refresh_token
from shared.models import AuthSession, RefreshToken, new_id
from shared.models.base import utcnow
from tests.auth.support import PASSWORD, error_of
from tests.factories import make_user


def test_password_flow_from_register_to_session(caller, member):
    # 1-2. The user enters their email; the app checks they may use it.
    registered = caller.post("/auth/register", {"login": member["email"].upper()})
    assert registered.status_code == 200, registered.text
    assert registered.json()["user"]["auth_user_id"] == member["auth_user_id"]

    # 5. Valid and assigned: password login, with the device the app knows.
    device = {"device_id": "phone-1", "name": "Grace's phone", "platform": "ios"}
    response = caller.login(member["email"], device=device)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 900
    assert tokens["refresh_token"].startswith("rt_")
    assert tokens["refresh_expires_in"] > 29 * 86400
    assert set(tokens["session"]) == {"session_id", "created_at", "expires_at"}
    assert tokens["user"] == registered.json()["user"]

    # 7. The app validates the token and loads the profile.
    session = caller.session(tokens["access_token"])
    assert session.status_code == 200, session.text
    assert session.json() == {"user": tokens["user"], "session": tokens["session"]}


def test_login_by_mobile_number_in_local_format(caller, member):
    response = caller.login("(415) 555-0123")
    assert response.status_code == 200, response.text
    assert response.json()["user"]["mobile_number"] == "+14155550123"


def test_unknown_user_gets_the_seed_message(caller):
    response = caller.post("/auth/register", {"login": "nobody@example.com"})
    assert error_of(response) == (404, "user_not_found")
    assert response.json()["error"]["message"] == "User not in the directory service."


def test_unassigned_user_gets_the_seed_message(caller, admin):
    outsider = make_user(admin, password=PASSWORD)
    for response in (
        caller.post("/auth/register", {"login": outsider["email"]}),
        caller.login(outsider["email"]),
    ):
        assert error_of(response) == (403, "not_assigned")
        assert response.json()["error"]["message"] == (
            "You are not allowed to access this application. Contact Administrator."
        )


def test_login_writes_the_session_and_its_first_refresh_token(caller, member, runtime):
    tokens = caller.signed_in(member["email"])
    session_id = uuid.UUID(tokens["session"]["session_id"])
    with runtime.session_factory() as db:
        stored = db.get(AuthSession, session_id)
        (first,) = db.scalars(select(RefreshToken).where(RefreshToken.session_id == session_id))
    assert stored is not None
    assert str(stored.user_id) == member["auth_user_id"]
    assert stored.application_id is not None and stored.ip == "127.0.0.1"
    assert stored.revoked_at is None and stored.created_at == stored.last_seen_at
    assert stored.expires_at <= stored.absolute_expires_at
    assert first.token_hash == hash_refresh_token(tokens["refresh_token"])
    assert first.used_at is None and first.expires_at == stored.expires_at


def test_a_session_row_built_without_every_column_is_refused(runtime):
    # The INSERT bypasses the ORM's defaults: an unset column must not become NULL.
    now = utcnow()
    partial = AuthSession(id=new_id(), user_id=new_id(), created_at=now, expires_at=now)
    token = RefreshToken(id=new_id(), session_id=partial.id, token_hash="x" * 64)
    with runtime.session_factory() as db, pytest.raises(ValueError, match="absolute_expires_at"):
        repository.insert_session(db, partial, token)
