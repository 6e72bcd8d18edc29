"""A user's devices and sessions in the console, and ending them there."""

from __future__ import annotations

import uuid

import pytest

from shared.audit import EventType
from tests.auth.support import audit_events, error_of


@pytest.fixture
def admin_auth(auth_client, admin_headers):
    auth_client.headers.update(admin_headers)
    yield auth_client
    auth_client.headers.pop("Authorization", None)


@pytest.fixture
def signed_in(caller, member):
    plain = caller.signed_in(member["email"])
    phone = caller.login(
        member["email"], device={"device_id": "phone", "name": "Phone", "platform": "ios"}
    )
    laptop = caller.login(member["email"], device={"device_id": "laptop", "platform": "linux"})
    return plain, phone.json(), laptop.json()


def test_sessions_and_devices_are_listed(admin_auth, member, signed_in, caller):
    sessions = admin_auth.get(f"/auth/admin/users/{member['auth_user_id']}/sessions")
    assert sessions.status_code == 200, sessions.text
    items = sessions.json()["items"]
    assert len(items) == 3
    assert {i["application_name"] for i in items} == {caller.app["name"]}
    assert {(i["device"] or {}).get("device_key") for i in items} == {None, "phone", "laptop"}
    assert all(i["ip"] == "127.0.0.1" and i["revoked_at"] is None for i in items)

    devices = admin_auth.get(f"/auth/admin/users/{member['auth_user_id']}/devices").json()["items"]
    assert {(d["device_key"], d["name"], d["active_sessions"]) for d in devices} == {
        ("phone", "Phone", 1),
        ("laptop", None, 1),
    }
    counts = admin_auth.get("/auth/admin/activity", params={"user_id": member["auth_user_id"]})
    assert counts.json()["counts"][member["auth_user_id"]] == {
        "devices": 2,
        "active_sessions": 3,
        "second_factors": [],
    }


def test_revoking_one_session(admin_auth, member, signed_in, caller, runtime):
    _, phone, laptop = signed_in
    response = admin_auth.delete(f"/auth/admin/sessions/{phone['session']['session_id']}")
    assert response.status_code == 204
    assert error_of(caller.session(phone["access_token"])) == (401, "session_revoked")
    assert caller.session(laptop["access_token"]).status_code == 200
    (event,) = audit_events(runtime, EventType.ADMIN_SESSION_REVOKED)
    assert event.actor_type == "admin" and event.subject_user_id == member["auth_user_id"]
    listed = admin_auth.get(
        f"/auth/admin/users/{member['auth_user_id']}/sessions", params={"include_ended": True}
    ).json()["items"]
    assert sorted(i["revoked_reason"] or "" for i in listed) == ["", "", "admin"]


def test_revoking_all_of_a_users_sessions(admin_auth, member, signed_in, caller):
    response = admin_auth.delete(f"/auth/admin/users/{member['auth_user_id']}/sessions")
    assert response.json() == {"revoked": 3}
    assert all(caller.session(t["access_token"]).status_code == 401 for t in signed_in)


def test_forgetting_a_device_ends_its_sessions(admin_auth, member, signed_in, caller):
    *_, laptop = signed_in
    devices = admin_auth.get(f"/auth/admin/users/{member['auth_user_id']}/devices").json()["items"]
    laptop_id = next(d["device_id"] for d in devices if d["device_key"] == "laptop")
    assert admin_auth.delete(f"/auth/admin/devices/{laptop_id}").status_code == 204
    assert error_of(caller.session(laptop["access_token"])) == (401, "session_revoked")
    left = admin_auth.get(f"/auth/admin/users/{member['auth_user_id']}/devices").json()["items"]
    assert [d["device_key"] for d in left] == ["phone"]


def test_unknown_ids_are_404(admin_auth):
    missing = uuid.uuid4()
    assert error_of(admin_auth.get(f"/auth/admin/users/{missing}/sessions"))[0] == 404
    assert error_of(admin_auth.delete(f"/auth/admin/sessions/{missing}")) == (
        404,
        "session_not_found",
    )
    assert error_of(admin_auth.delete(f"/auth/admin/devices/{missing}")) == (
        404,
        "device_not_found",
    )
    assert error_of(admin_auth.get("/auth/admin/users/not-a-uuid/sessions"))[0] == 422


def test_only_administrators_may_look(auth_client, caller, member, signed_in):
    path = f"/auth/admin/users/{member['auth_user_id']}/sessions"
    assert error_of(auth_client.get(path))[0] == 401
    user_token = signed_in[0]["access_token"]  # an application's token, not the console's
    response = auth_client.get(path, headers={"Authorization": f"Bearer {user_token}"})
    assert error_of(response) == (401, "invalid_token")
