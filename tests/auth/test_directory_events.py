"""Directory changes reach sign-in: sessions end and cached profiles refresh (consumed events)."""

from __future__ import annotations

from shared.directory_events import DirectoryEvent, DirectoryEventType, publish_directory_events
from tests.auth.support import AppCaller, wait_for
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
