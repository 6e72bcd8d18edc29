"""Assigning users to applications, and what that tells the auth service and the audit log."""

from __future__ import annotations

import uuid

import orjson

from shared.audit import AuditRecord, EventType
from tests.factories import assign, make_application, make_user


def directory_events(runtime) -> list[dict]:
    entries = runtime.redis.xrange(runtime.keys.directory_events)
    return [orjson.loads(fields["event"]) for _, fields in entries]


def audit_events(runtime, event_type: EventType) -> list[AuditRecord]:
    records = [
        AuditRecord.from_stream(f) for _, f in runtime.redis.xrange(runtime.keys.audit_stream)
    ]
    return [r for r in records if r.type == event_type]


def test_put_replaces_assignments(admin):
    one, two, three = (make_application(admin) for _ in range(3))
    user = make_user(admin, applications=[one["id"], two["id"]])
    assert {a["id"] for a in user["applications"]} == {one["id"], two["id"]}
    result = assign(admin, user["auth_user_id"], [two["id"], three["id"]])
    assert {a["id"] for a in result["applications"]} == {two["id"], three["id"]}
    listed = admin.get("/directory/users", params={"application_id": one["id"]}).json()
    assert listed["total"] == 0


def test_unassign_publishes_session_revocation_event(admin, runtime):
    app = make_application(admin)
    user = make_user(admin, applications=[app["id"]])
    assign(admin, user["auth_user_id"], [])
    events = [e for e in directory_events(runtime) if e["type"] == "user.unassigned"]
    assert events == [
        {"type": "user.unassigned", "user_id": user["auth_user_id"], "application_ids": [app["id"]]}
    ]


def test_disable_and_delete_publish_events(admin, runtime):
    user = make_user(admin)
    admin.patch(f"/directory/users/{user['auth_user_id']}", json={"status": "disabled"})
    admin.delete(f"/directory/users/{user['auth_user_id']}")
    types = [e["type"] for e in directory_events(runtime) if e["user_id"] == user["auth_user_id"]]
    assert "user.disabled" in types and types[-1] == "user.deleted"


def test_bulk_assign_and_unassign(admin):
    app = make_application(admin)
    users = [make_user(admin) for _ in range(3)]
    ids = [u["auth_user_id"] for u in users]
    body = {"action": "assign", "user_ids": ids, "application_ids": [app["id"]]}
    assert admin.post("/directory/assignments", json=body).json() == {
        "action": "assign",
        "changed": 3,
    }
    # Assigning again changes nothing.
    assert admin.post("/directory/assignments", json=body).json()["changed"] == 0
    assert admin.get("/directory/users", params={"application_id": app["id"]}).json()["total"] == 3
    body = {"action": "unassign", "user_ids": ids[:2], "application_ids": [app["id"]]}
    assert admin.post("/directory/assignments", json=body).json()["changed"] == 2
    assert admin.get("/directory/users", params={"application_id": app["id"]}).json()["total"] == 1


def test_bulk_with_unknown_ids_changes_nothing(admin):
    app = make_application(admin)
    user = make_user(admin)
    body = {
        "action": "assign",
        "user_ids": [user["auth_user_id"], str(uuid.uuid4())],
        "application_ids": [app["id"]],
    }
    response = admin.post("/directory/assignments", json=body)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "user_not_found"
    assert admin.get(f"/directory/users/{user['auth_user_id']}").json()["applications"] == []
    bad_app = {**body, "user_ids": [user["auth_user_id"]], "application_ids": [str(uuid.uuid4())]}
    assert admin.post("/directory/assignments", json=bad_app).status_code == 422
    assert admin.post("/directory/assignments", json={"action": "swap"}).status_code == 422


def test_assign_unknown_application_is_rejected(admin):
    user = make_user(admin)
    response = admin.put(
        f"/directory/users/{user['auth_user_id']}/applications",
        json={"application_ids": [str(uuid.uuid4())]},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unknown_application"


def test_admin_actions_are_audited_with_before_and_after(admin, admin_user, runtime):
    user = make_user(admin, name="Before")
    admin.patch(f"/directory/users/{user['auth_user_id']}", json={"name": "After"})
    admin.patch(
        f"/directory/users/{user['auth_user_id']}", json={"password": "a long new passphrase"}
    )
    created = audit_events(runtime, EventType.ADMIN_USER_CREATED)
    updated = audit_events(runtime, EventType.ADMIN_USER_UPDATED)
    assert created[-1].subject_user_id == user["auth_user_id"]
    assert created[-1].actor_id == str(admin_user.id) and created[-1].actor_type == "admin"
    assert created[-1].remote_addr == "127.0.0.1"
    assert updated[0].details == {"before": {"name": "Before"}, "after": {"name": "After"}}
    # A password change is recorded, the password never is.
    assert updated[1].details["after"]["password"] == "***"
    assert "a long new passphrase" not in str([r.details for r in updated])


def test_failed_write_emits_no_audit_event(admin, runtime):
    make_user(admin, email="one@example.com")
    count = len(audit_events(runtime, EventType.ADMIN_USER_CREATED))
    admin.post("/directory/users", json={"name": "Dup", "email": "one@example.com"})
    assert len(audit_events(runtime, EventType.ADMIN_USER_CREATED)) == count
