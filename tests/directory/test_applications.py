"""Applications: registering, listing, editing and deleting them, as the console does."""

from __future__ import annotations

from sqlalchemy import func, select

from shared.audit import AuditRecord, EventType
from shared.models import AllowedNetwork, Application, Assignment
from tests.factories import assign, make_api_key, make_application, make_user


def audit_events(runtime, event_type):
    entries = runtime.redis.xrange(runtime.keys.audit_stream)
    records = [AuditRecord.from_stream(fields) for _, fields in entries]
    return [r for r in records if r.type == event_type]


def test_create_normalises_and_deduplicates_the_allow_list(admin, runtime):
    response = admin.post(
        "/directory/applications",
        json={
            "name": "  Payroll  ",
            "allowed_ips": ["10.1.2.3/8", "10.0.0.0/8", "192.168.1.7", "2001:DB8::1/32"],
        },
    )
    assert response.status_code == 201, response.text
    app = response.json()
    assert app["name"] == "Payroll"
    assert app["allowed_ips"] == ["10.0.0.0/8", "192.168.1.7/32", "2001:db8::/32"]
    assert app["status"] == "active"
    assert app["accepts_requests"] is True
    assert (app["users"], app["keys"]) == (0, 0)
    assert app["created_at"] and app["updated_at"]
    created = audit_events(runtime, EventType.ADMIN_APP_CREATED)
    assert [e.application_id for e in created] == [app["id"]]
    assert created[0].details["after"]["allowed_ips"] == app["allowed_ips"]
    assert created[0].actor_type == "admin"


def test_an_empty_allow_list_is_visible_as_not_accepting_requests(admin):
    app = make_application(admin, allowed_ips=[])
    assert app["allowed_ips"] == []
    assert app["accepts_requests"] is False
    disabled = make_application(admin, status="disabled")
    assert disabled["accepts_requests"] is False


def test_list_pages_searches_filters_and_counts(admin):
    alpha = make_application(admin, name="alpha-crm")
    make_application(admin, name="beta-crm", status="disabled")
    make_application(admin, name="gamma-hr")
    for _ in range(2):
        assign(admin, make_user(admin)["auth_user_id"], [alpha["id"]])
    make_api_key(admin, alpha["id"])

    page = admin.get("/directory/applications", params={"limit": 2}).json()
    assert page["total"] == 3
    assert [a["name"] for a in page["items"]] == ["alpha-crm", "beta-crm"]
    assert (page["items"][0]["users"], page["items"][0]["keys"]) == (2, 1)
    rest = admin.get("/directory/applications", params={"offset": 2, "limit": 2}).json()
    assert [a["name"] for a in rest["items"]] == ["gamma-hr"]

    crm = admin.get("/directory/applications", params={"q": "crm"}).json()
    assert [a["name"] for a in crm["items"]] == ["alpha-crm", "beta-crm"]
    off = admin.get("/directory/applications", params={"status": "disabled"}).json()
    assert [a["name"] for a in off["items"]] == ["beta-crm"]
    literal = admin.get("/directory/applications", params={"q": "%"}).json()
    assert literal["total"] == 0


def test_patch_renames_disables_and_replaces_the_allow_list(admin, runtime):
    app = make_application(admin, name="billing", allowed_ips=["10.0.0.0/8", "10.9.9.9"])
    response = admin.patch(
        f"/directory/applications/{app['id']}",
        json={"name": "Billing", "status": "disabled", "allowed_ips": ["10.9.9.9", "fd00::/8"]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["status"]) == ("Billing", "disabled")
    assert body["allowed_ips"] == ["10.9.9.9/32", "fd00::/8"]
    assert body["accepts_requests"] is False
    assert admin.get(f"/directory/applications/{app['id']}").json() == body
    updated = audit_events(runtime, EventType.ADMIN_APP_UPDATED)
    assert updated[0].details["before"] == {
        "name": "billing",
        "status": "active",
        "allowed_ips": ["10.0.0.0/8", "10.9.9.9/32"],
    }
    assert updated[0].details["after"]["allowed_ips"] == ["10.9.9.9/32", "fd00::/8"]


def test_patch_that_changes_nothing_is_not_audited(admin, runtime):
    app = make_application(admin, allowed_ips=["10.0.0.0/8"])
    response = admin.patch(
        f"/directory/applications/{app['id']}", json={"allowed_ips": ["10.0.0.1/8"]}
    )
    assert response.status_code == 200
    assert response.json()["updated_at"] == app["updated_at"]
    assert audit_events(runtime, EventType.ADMIN_APP_UPDATED) == []


def test_delete_unused_application(admin, runtime):
    app = make_application(admin)
    assert admin.delete(f"/directory/applications/{app['id']}").status_code == 204
    missing = admin.get(f"/directory/applications/{app['id']}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "application_not_found"
    with runtime.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(AllowedNetwork)) == 0
    deleted = audit_events(runtime, EventType.ADMIN_APP_DELETED)
    assert deleted[0].details["before"]["name"] == app["name"]


def test_delete_in_use_needs_force(admin, runtime):
    app = make_application(admin)
    user = make_user(admin, applications=[app["id"]])
    make_api_key(admin, app["id"])

    refused = admin.delete(f"/directory/applications/{app['id']}")
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert (error["code"], error["users"], error["keys"]) == ("application_in_use", 1, 1)
    assert admin.get(f"/directory/applications/{app['id']}").json()["users"] == 1

    forced = admin.delete(f"/directory/applications/{app['id']}", params={"force": "true"})
    assert forced.status_code == 204
    assert admin.get("/directory/keys").json()["total"] == 0
    assert admin.get(f"/directory/users/{user['auth_user_id']}").json()["applications"] == []
    with runtime.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Application)) == 0
        assert session.scalar(select(func.count()).select_from(Assignment)) == 0
