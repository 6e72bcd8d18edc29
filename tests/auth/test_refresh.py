"""Refresh tokens: rotated on use, retry grace, reuse revokes the family, lifetimes."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from auth.accounts import iso
from auth.sessions.tokens import hash_refresh_token
from shared.audit import EventType
from shared.models import Assignment, AuthSession, RefreshToken
from shared.models.base import utcnow
from tests.auth.support import PASSWORD, AppCaller, audit_events, error_of
from tests.factories import assign, make_app_with_key


@pytest.fixture
def tokens(caller, member):
    return caller.signed_in(member["email"])


def test_refresh_rotates_the_pair(caller, tokens, runtime):
    response = caller.refresh(tokens["refresh_token"])
    assert response.status_code == 200, response.text
    fresh = response.json()
    assert fresh["refresh_token"] != tokens["refresh_token"]
    assert fresh["access_token"] != tokens["access_token"]
    assert fresh["session"]["session_id"] == tokens["session"]["session_id"]
    assert caller.session(fresh["access_token"]).status_code == 200
    with runtime.session_factory() as db:
        stored = db.scalars(select(RefreshToken.token_hash)).all()
    assert tokens["refresh_token"] not in stored and fresh["refresh_token"] not in stored


def test_rotation_links_the_tokens_and_moves_the_session_on(caller, tokens, member, runtime):
    session_id = uuid.UUID(tokens["session"]["session_id"])
    an_hour_ago = utcnow() - timedelta(hours=1)
    with runtime.session_factory() as db:
        db.execute(update(AuthSession).values(last_seen_at=an_hour_ago, expires_at=utcnow()))
        db.commit()
    fresh = caller.refresh(tokens["refresh_token"]).json()
    with runtime.session_factory() as db:
        stored = db.get(AuthSession, session_id)
        used = db.scalars(
            select(RefreshToken).where(
                RefreshToken.token_hash == hash_refresh_token(tokens["refresh_token"])
            )
        ).one()
        new = db.scalars(
            select(RefreshToken).where(
                RefreshToken.token_hash == hash_refresh_token(fresh["refresh_token"])
            )
        ).one()
    assert stored.last_seen_at > an_hour_ago + timedelta(minutes=59)
    assert stored.expires_at > utcnow() + timedelta(days=1)
    assert used.used_at is not None and used.replaced_by_id == new.id
    assert new.session_id == session_id and new.used_at is None
    assert new.expires_at == stored.expires_at
    assert fresh["session"]["expires_at"] == iso(stored.expires_at)
    assert fresh["user"] == {key: member[key] for key in fresh["user"]}
    (event,) = audit_events(runtime, EventType.TOKEN_REFRESHED)
    assert event.details["session_id"] == str(session_id)


def test_a_retry_within_the_grace_window_gets_the_same_pair(caller, tokens):
    first = caller.refresh(tokens["refresh_token"]).json()
    retry = caller.refresh(tokens["refresh_token"])
    assert retry.status_code == 200
    assert retry.json()["refresh_token"] == first["refresh_token"]


def test_reuse_after_the_grace_window_revokes_the_session(caller, tokens, runtime):
    fresh = caller.refresh(tokens["refresh_token"]).json()
    with runtime.session_factory() as db:
        db.execute(update(RefreshToken).values(used_at=utcnow() - timedelta(seconds=60)))
        db.commit()
    reused = caller.refresh(tokens["refresh_token"])
    assert error_of(reused) == (401, "refresh_token_reused")
    # The whole family is gone: the thief's and the owner's newer tokens alike.
    assert error_of(caller.session(fresh["access_token"])) == (401, "session_revoked")
    assert error_of(caller.refresh(fresh["refresh_token"])) == (401, "session_revoked")
    (event,) = audit_events(runtime, EventType.REFRESH_REUSE_DETECTED)
    assert event.details["session_id"] == tokens["session"]["session_id"]


def test_unknown_refresh_token(caller, member):
    assert error_of(caller.refresh("rt_" + "x" * 43)) == (401, "invalid_refresh_token")


def test_another_applications_refresh_token_is_refused(caller, tokens, admin, auth_client, member):
    other_app, other_key = make_app_with_key(admin)
    assign(admin, member["auth_user_id"], [caller.app["id"], other_app["id"]])
    other = AppCaller(auth_client, other_key, other_app)
    assert error_of(other.refresh(tokens["refresh_token"])) == (401, "invalid_refresh_token")
    assert caller.refresh(tokens["refresh_token"]).status_code == 200  # not burnt by B


def test_the_absolute_lifetime_ends_refreshing(caller, tokens, runtime):
    with runtime.session_factory() as db:
        db.execute(update(AuthSession).values(absolute_expires_at=utcnow() - timedelta(seconds=1)))
        db.commit()
    assert error_of(caller.refresh(tokens["refresh_token"])) == (401, "refresh_token_expired")


def test_refresh_slides_but_never_past_the_absolute_lifetime(caller, tokens, runtime):
    session_id = uuid.UUID(tokens["session"]["session_id"])
    cap = utcnow() + timedelta(days=2)
    with runtime.session_factory() as db:
        db.execute(update(AuthSession).values(absolute_expires_at=cap))
        db.commit()
    fresh = caller.refresh(tokens["refresh_token"]).json()
    assert fresh["refresh_expires_in"] <= 2 * 86400
    with runtime.session_factory() as db:
        assert db.get(AuthSession, session_id).expires_at <= cap


def test_a_disabled_user_cannot_refresh(caller, tokens, admin, member):
    admin.patch(f"/directory/users/{member['auth_user_id']}", json={"status": "disabled"})
    assert error_of(caller.refresh(tokens["refresh_token"])) == (401, "session_revoked")


def test_an_unassigned_user_cannot_refresh(caller, tokens, admin, member, runtime):
    # Straight in the database, so the refresh itself must notice (no event involved).
    with runtime.session_factory() as db:
        db.query(Assignment).delete()
        db.commit()
    assert error_of(caller.refresh(tokens["refresh_token"])) == (401, "session_revoked")
    assert caller.login(member["email"], PASSWORD).status_code == 403


def test_a_duplicate_whose_twin_has_not_answered_yet_is_told_to_retry(caller, tokens, runtime):
    # Used a moment ago, but the winner's answer is not there (it may still be committing).
    with runtime.session_factory() as db:
        db.execute(update(RefreshToken).values(used_at=utcnow()))
        db.commit()
    response = caller.refresh(tokens["refresh_token"])
    assert error_of(response) == (409, "refresh_in_progress")
    assert response.headers["Retry-After"] == "1"
    assert caller.session(tokens["access_token"]).status_code == 200  # not treated as theft


def test_an_ancestor_presented_after_its_successor_was_used_revokes_the_family(
    caller, tokens, runtime
):
    # R1 -> R2 -> R3, then R1 again well inside the grace window: no honest client
    # can still be retrying R1 once R2 itself has been used.
    second = caller.refresh(tokens["refresh_token"]).json()
    third = caller.refresh(second["refresh_token"]).json()
    replayed = caller.refresh(tokens["refresh_token"])
    assert error_of(replayed) == (401, "refresh_token_reused")
    assert "access_token" not in replayed.text
    assert error_of(caller.session(third["access_token"])) == (401, "session_revoked")
    assert error_of(caller.refresh(third["refresh_token"])) == (401, "session_revoked")
    (event,) = audit_events(runtime, EventType.REFRESH_REUSE_DETECTED)
    assert event.details["session_id"] == tokens["session"]["session_id"]


def test_a_retry_from_another_address_inside_the_window_revokes_the_family(
    caller, tokens, auth_app, admin, runtime
):
    # The application allows both addresses; only the refresh's own caller may retry.
    allowed = {"allowed_ips": ["127.0.0.1/32", "127.0.0.2/32"]}
    assert admin.patch(f"/directory/applications/{caller.app['id']}", json=allowed).is_success
    second = caller.refresh(tokens["refresh_token"]).json()
    with TestClient(auth_app, client=("127.0.0.2", 50000)) as elsewhere:
        other = AppCaller(elsewhere, caller.api_key, caller.app)
        replayed = other.refresh(tokens["refresh_token"])
    assert error_of(replayed) == (401, "refresh_token_reused")
    assert error_of(caller.session(second["access_token"])) == (401, "session_revoked")
    (event,) = audit_events(runtime, EventType.REFRESH_REUSE_DETECTED)
    assert event.details["reason"] == "another_client"


def test_a_retry_after_the_successor_was_used_is_refused_even_without_grace(
    caller, tokens, runtime, monkeypatch
):
    monkeypatch.setattr(runtime.settings, "refresh_reuse_grace_seconds", 0)
    second = caller.refresh(tokens["refresh_token"]).json()
    assert error_of(caller.refresh(tokens["refresh_token"])) == (401, "refresh_token_reused")
    assert error_of(caller.session(second["access_token"])) == (401, "session_revoked")
