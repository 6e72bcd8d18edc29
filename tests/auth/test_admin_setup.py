"""The first administrator: only with the setup token, only while none exists (and by CLI)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from auth.admin.setup import issue_setup_token
from auth.cli import create_admin
from auth.cli import setup_token as cli_setup_token
from shared.audit import EventType
from shared.models import UserAccount
from tests.auth.support import audit_events, error_of

ADMIN = {"name": "Ada Lovelace", "email": "ada@example.com", "password": "analytical-engine-1843"}


@pytest.fixture
def setup_token(runtime) -> str:
    token = issue_setup_token(runtime, replace=True)
    assert token is not None
    return token


def _users(runtime) -> list[UserAccount]:
    with runtime.session_factory() as db:
        return list(db.query(UserAccount))


def test_setup_creates_the_first_admin_and_signs_them_in(
    auth_client, directory_client, setup_token, runtime
):
    response = auth_client.post("/auth/admin/setup", json={**ADMIN, "setup_token": setup_token})
    assert response.status_code == 201, response.text
    tokens = response.json()
    (user,) = _users(runtime)
    assert user.is_admin and user.email == "ada@example.com" and user.password_hash
    # The console token works on the directory's admin API.
    listed = directory_client.get(
        "/directory/users", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert listed.status_code == 200
    assert audit_events(runtime, EventType.ADMIN_SETUP)[0].subject_user_id == str(user.id)


def test_setup_is_refused_once_an_admin_exists(auth_client, setup_token, runtime):
    first = auth_client.post("/auth/admin/setup", json={**ADMIN, "setup_token": setup_token})
    assert first.status_code == 201
    second = auth_client.post(
        "/auth/admin/setup",
        json={**ADMIN, "email": "eve@example.com", "setup_token": setup_token},
    )
    assert error_of(second) == (409, "setup_done")
    assert len(_users(runtime)) == 1


def test_a_wrong_setup_token_is_refused(auth_client, setup_token, runtime):
    response = auth_client.post("/auth/admin/setup", json={**ADMIN, "setup_token": "guess"})
    assert error_of(response) == (403, "invalid_setup_token")
    assert _users(runtime) == []


def test_the_configured_setup_token_is_honoured(auth_client, runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "setup_token", SecretStr("configured-setup-token-123"))
    body = {**ADMIN, "setup_token": "configured-setup-token-123"}
    assert auth_client.post("/auth/admin/setup", json=body).status_code == 201


def test_a_weak_password_or_bad_contact_changes_nothing(auth_client, setup_token, runtime):
    weak = auth_client.post(
        "/auth/admin/setup", json={**ADMIN, "password": "short", "setup_token": setup_token}
    )
    assert error_of(weak) == (422, "weak_password")
    no_contact = {**ADMIN, "email": None, "setup_token": setup_token}
    assert error_of(auth_client.post("/auth/admin/setup", json=no_contact)) == (
        422,
        "contact_required",
    )
    bad_email = {**ADMIN, "email": "not-an-email", "setup_token": setup_token}
    assert error_of(auth_client.post("/auth/admin/setup", json=bad_email))[0] == 422
    assert _users(runtime) == []
    good = auth_client.post("/auth/admin/setup", json={**ADMIN, "setup_token": setup_token})
    assert good.status_code == 201  # the token is still good after the bad tries


def test_cli_create_admin(runtime, monkeypatch):
    monkeypatch.setenv("IDENTITY_ADMIN_PASSWORD", ADMIN["password"])
    user_id = create_admin(runtime, "Ada Lovelace", "Ada@Example.com", None)
    (user,) = _users(runtime)
    assert str(user.id) == user_id and user.is_admin and user.email == "ada@example.com"
    with pytest.raises(Exception, match="already exists"):
        create_admin(runtime, "Eve", "eve@example.com", None)
    with pytest.raises(SystemExit):
        cli_setup_token(runtime)


def test_cli_setup_token_replaces_the_live_one(auth_client, runtime):
    token = cli_setup_token(runtime)
    response = auth_client.post("/auth/admin/setup", json={**ADMIN, "setup_token": token})
    assert response.status_code == 201
