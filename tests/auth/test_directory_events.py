"""Directory changes reach sign-in: sessions end and cached profiles refresh (consumed events)."""

from __future__ import annotations

import time

import pytest
import redis

from shared.directory_events import DirectoryEvent, DirectoryEventType, publish_directory_events
from tests.auth.support import AppCaller, error_of, wait_for
from tests.factories import assign, make_app_with_key


def _revoked(caller, tokens) -> bool:
    return caller.session(tokens["access_token"]).status_code == 401


def test_disabling_a_user_ends_their_sessions(caller, member, admin):
    tokens = caller.signed_in(member["email"])
    admin.patch(f"/directory/users/{member['auth_user_id']}", json={"status": "disabled"})
    wait_for(lambda: _revoked(caller, tokens))
    assert caller.session(tokens["access_token"]).json()["error"]["code"] == "session_revoked"


def test_deleting_a_user_ends_their_sessions(caller, member, admin):
    tokens = caller.signed_in(member["email"])
    assert admin.delete(f"/directory/users/{member['auth_user_id']}").status_code == 204
    wait_for(lambda: _revoked(caller, tokens))


def test_an_admin_password_change_ends_their_sessions(caller, member, admin):
    tokens = caller.signed_in(member["email"])
    admin.patch(
        f"/directory/users/{member['auth_user_id']}", json={"password": "quiet-meadow-lantern-9"}
    )
    wait_for(lambda: _revoked(caller, tokens))


def test_unassigning_ends_sessions_at_that_application_only(caller, member, admin, auth_client):
    other_app, other_key = make_app_with_key(admin)
    assign(admin, member["auth_user_id"], [caller.app["id"], other_app["id"]])
    other = AppCaller(auth_client, other_key, other_app)
    here, there = caller.signed_in(member["email"]), other.signed_in(member["email"])
    assign(admin, member["auth_user_id"], [other_app["id"]])
    wait_for(lambda: _revoked(caller, here))
    assert other.session(there["access_token"]).status_code == 200


def test_an_edit_refreshes_the_profile_sessions_see(caller, member, admin):
    tokens = caller.signed_in(member["email"])
    assert caller.session(tokens["access_token"]).json()["user"]["name"] == "Grace Hopper"
    admin.patch(f"/directory/users/{member['auth_user_id']}", json={"name": "Grace B. Hopper"})

    def renamed() -> bool:
        return caller.session(tokens["access_token"]).json()["user"]["name"] == "Grace B. Hopper"

    wait_for(renamed)


def test_events_are_consumed_once_by_the_auth_group(caller, member, runtime, auth_app):
    caller.signed_in(member["email"])
    event = DirectoryEvent(type=DirectoryEventType.USER_UPDATED, user_id=member["auth_user_id"])
    stream = runtime.keys.directory_events
    publish_directory_events(runtime.redis, stream, [event])

    def acknowledged() -> bool:
        groups = runtime.redis.xinfo_groups(stream)
        auth = next((g for g in groups if g["name"] == "auth"), None)
        return auth is not None and auth["pending"] == 0 and auth["entries-read"] >= 1

    wait_for(acknowledged)
    assert auth_app.state.directory_events.poll_once(block_ms=None) == 0  # nothing left


def test_an_unreadable_event_is_skipped_not_retried_forever(runtime, auth_app):
    stream = runtime.keys.directory_events
    runtime.redis.xadd(stream, {"event": b"{not json"})

    def drained() -> bool:
        groups = runtime.redis.xinfo_groups(stream)
        return bool(groups) and groups[0]["pending"] == 0 and groups[0]["lag"] == 0

    wait_for(drained)


@pytest.fixture
def directory_stream_down(runtime, monkeypatch):
    """Redis refuses the directory's next XADDs to its event stream (a blip after commit)."""
    failures = {"left": 1_000_000}
    real = redis.client.Pipeline.execute

    def execute(self, *args, **kwargs):
        adds = [
            c for c, _ in self.command_stack if c[:2] == ("XADD", runtime.keys.directory_events)
        ]
        if adds and failures["left"] > 0:
            failures["left"] -= 1
            self.reset()
            raise redis.ConnectionError("Redis went away")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(redis.client.Pipeline, "execute", execute)
    monkeypatch.setattr("directory.outbox.RELAY_SECONDS", 0.2)
    return failures


@pytest.mark.parametrize("change", ["password", "disable"])
def test_a_change_whose_event_could_not_be_published_still_ends_the_sessions(
    caller, member, admin, directory_stream_down, change
):
    tokens = caller.signed_in(member["email"])
    body = (
        {"password": "quiet-meadow-lantern-9"} if change == "password" else {"status": "disabled"}
    )
    assert admin.patch(f"/directory/users/{member['auth_user_id']}", json=body).is_success
    time.sleep(0.5)
    assert directory_stream_down["left"] < 1_000_000  # the publish after commit did fail
    directory_stream_down["left"] = 0  # Redis is back
    wait_for(lambda: _revoked(caller, tokens), seconds=10)
    assert error_of(caller.refresh(tokens["refresh_token"])) == (401, "session_revoked")
