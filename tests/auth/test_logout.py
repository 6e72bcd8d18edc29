"""Logout by refresh token or bearer; idempotent; only the caller's own sessions."""

from __future__ import annotations

import time

import redis

from auth.cache import SessionCache
from shared.admin_auth import revoked_session_key
from shared.audit import EventType
from tests.auth.support import AppCaller, audit_events, error_of
from tests.factories import assign, make_app_with_key


def test_logout_by_refresh_token_ends_the_session(caller, member, runtime):
    tokens = caller.signed_in(member["email"])
    response = caller.post("/auth/logout", {"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 200
    assert response.json() == {"revoked": True}
    assert error_of(caller.session(tokens["access_token"])) == (401, "session_revoked")
    assert error_of(caller.refresh(tokens["refresh_token"])) == (401, "session_revoked")
    assert len(audit_events(runtime, EventType.SESSION_REVOKED)) == 1


def test_logout_by_bearer(caller, member):
    tokens = caller.signed_in(member["email"])
    assert caller.post("/auth/logout", token=tokens["access_token"]).status_code == 200
    assert error_of(caller.session(tokens["access_token"])) == (401, "session_revoked")


def test_logout_twice_is_fine(caller, member, runtime):
    tokens = caller.signed_in(member["email"])
    for _ in range(2):
        assert caller.post("/auth/logout", {"refresh_token": tokens["refresh_token"]}).json() == {
            "revoked": True
        }
        assert caller.post("/auth/logout", token=tokens["access_token"]).status_code == 200
    assert len(audit_events(runtime, EventType.SESSION_REVOKED)) == 1


def test_logout_needs_a_token(caller):
    assert error_of(caller.post("/auth/logout", {})) == (401, "invalid_token")
    assert error_of(caller.post("/auth/logout", token="garbage")) == (401, "invalid_token")


def test_another_application_cannot_end_the_session(caller, member, admin, auth_client):
    other_app, other_key = make_app_with_key(admin)
    assign(admin, member["auth_user_id"], [caller.app["id"], other_app["id"]])
    tokens = caller.signed_in(member["email"])
    other = AppCaller(auth_client, other_key, other_app)
    assert other.post("/auth/logout", {"refresh_token": tokens["refresh_token"]}).status_code == 200
    assert error_of(other.post("/auth/logout", token=tokens["access_token"])) == (
        401,
        "invalid_token",
    )
    assert caller.session(tokens["access_token"]).status_code == 200


def test_the_revocation_marker_outlives_tokens_minted_under_a_longer_lifetime(
    caller, member, runtime, monkeypatch
):
    # Tokens minted while the lifetime was an hour; lowered to 15 min before the logout.
    monkeypatch.setattr(runtime.settings, "access_token_ttl_seconds", 3600)
    tokens = caller.signed_in(member["email"])
    monkeypatch.setattr(runtime.settings, "access_token_ttl_seconds", 900)
    caller.post("/auth/logout", {"refresh_token": tokens["refresh_token"]})
    claims = runtime.tokens.verify(tokens["access_token"], audience=caller.app["id"])
    marker = revoked_session_key(runtime, tokens["session"]["session_id"])
    assert runtime.redis.ttl(marker) >= claims.expires_at - time.time()
    # A lookup that read the row before the revocation committed may put the session
    # back in the cache: the marker alone must keep refusing its tokens.
    state = {**tokens["session"], "user_id": member["auth_user_id"], "audience": caller.app["id"]}
    SessionCache(runtime).store_session({**state, "expires_ts": time.time() + 3600}, 3600)
    assert error_of(caller.session(tokens["access_token"])) == (401, "session_revoked")


def test_a_logout_redis_cannot_record_fails_and_can_be_retried(caller, member, monkeypatch):
    tokens = caller.signed_in(member["email"])
    real = SessionCache.mark_revoked

    def down(self, *args):
        raise redis.ConnectionError("Redis went away")

    monkeypatch.setattr(SessionCache, "mark_revoked", down)
    failed = caller.post("/auth/logout", {"refresh_token": tokens["refresh_token"]})
    # Not a 200 "revoked" for a session whose tokens the hot path would still accept.
    assert error_of(failed) == (503, "unavailable")
    monkeypatch.setattr(SessionCache, "mark_revoked", real)
    assert caller.post("/auth/logout", {"refresh_token": tokens["refresh_token"]}).json() == {
        "revoked": True
    }
    assert error_of(caller.session(tokens["access_token"])) == (401, "session_revoked")
    assert error_of(caller.refresh(tokens["refresh_token"])) == (401, "session_revoked")
