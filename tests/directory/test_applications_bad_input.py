"""Applications: bad input gets a clear 4xx in the envelope and changes nothing."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from shared.models import AllowedNetwork, Application
from tests.factories import make_application


def app_rows(runtime) -> list[tuple]:
    with runtime.session_factory() as session:
        apps = session.execute(
            select(Application.id, Application.name, Application.status, Application.updated_at)
        )
        networks = session.execute(select(AllowedNetwork.application_id, AllowedNetwork.cidr))
        return sorted(map(tuple, apps)) + sorted(map(tuple, networks))


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"allowed_ips": ["10.0.0.0/8"]},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 101},
        {"name": 42},
        {"name": "ok", "allowed_ips": "10.0.0.0/8"},
        {"name": "ok", "allowed_ips": [10]},
        {"name": "ok", "status": "paused"},
        {"name": "ok", "owner": "someone"},
        {"name": "ok", "allowed_ips": ["10.0.0.1"] * 1001},
    ],
)
def test_create_rejects_malformed_bodies(admin, runtime, body):
    make_application(admin, name="existing")
    before = app_rows(runtime)
    assert_error(admin.post("/directory/applications", json=body), 422, "validation_error")
    assert app_rows(runtime) == before


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "not-an-ip", "300.1.1.1", "2001:db8::/129", ""])
def test_create_names_the_invalid_network(admin, runtime, bad):
    before = app_rows(runtime)
    response = admin.post(
        "/directory/applications", json={"name": "crm", "allowed_ips": ["10.0.0.0/8", bad]}
    )
    error = assert_error(response, 422, "validation_error")
    assert error["field"] == "allowed_ips"
    assert f"'{bad}'" in error["message"]
    assert app_rows(runtime) == before


def test_more_than_100_distinct_networks_are_refused(admin, runtime):
    networks = [f"10.0.{i}.0/24" for i in range(101)]
    response = admin.post("/directory/applications", json={"name": "crm", "allowed_ips": networks})
    assert assert_error(response, 422, "validation_error")["field"] == "allowed_ips"
    # 100 distinct entries, written twice over, are fine.
    ok = admin.post(
        "/directory/applications", json={"name": "crm", "allowed_ips": networks[:100] * 2}
    )
    assert ok.status_code == 201
    assert len(ok.json()["allowed_ips"]) == 100


@pytest.mark.parametrize("name", ["Payroll", "payroll", "PAYROLL"])
def test_duplicate_name_is_a_conflict(admin, runtime, name):
    make_application(admin, name="Payroll")
    before = app_rows(runtime)
    error = assert_error(
        admin.post("/directory/applications", json={"name": name}), 409, "duplicate"
    )
    assert error["field"] == "name"
    assert app_rows(runtime) == before


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": "Other"}, 409, "duplicate"),
        ({"name": None}, 422, "validation_error"),
        ({"status": None}, 422, "validation_error"),
        ({"allowed_ips": None}, 422, "validation_error"),
        ({"allowed_ips": ["10.0.0.0/8", "10.0.0.0/33"]}, 422, "validation_error"),
        ({"status": "gone"}, 422, "validation_error"),
        ({"name": "x" * 101}, 422, "validation_error"),
        ({"id": str(uuid.uuid4())}, 422, "validation_error"),
    ],
)
def test_patch_rejects_bad_changes(admin, runtime, body, status, code):
    make_application(admin, name="Other")
    app = make_application(admin, name="Mine", allowed_ips=["192.168.0.0/16"])
    before = app_rows(runtime)
    assert_error(admin.patch(f"/directory/applications/{app['id']}", json=body), status, code)
    assert app_rows(runtime) == before
    assert admin.get(f"/directory/applications/{app['id']}").json() == app


def test_unknown_application_is_404_everywhere(admin, runtime):
    make_application(admin)
    before = app_rows(runtime)
    missing = f"/directory/applications/{uuid.uuid4()}"
    assert_error(admin.get(missing), 404, "application_not_found")
    assert_error(admin.patch(missing, json={"status": "disabled"}), 404, "application_not_found")
    assert_error(admin.delete(missing), 404, "application_not_found")
    assert_error(admin.post(f"{missing}/keys"), 404, "application_not_found")
    assert_error(admin.get(f"{missing}/keys"), 404, "application_not_found")
    assert_error(admin.get("/directory/applications/not-a-uuid"), 422, "validation_error")
    assert app_rows(runtime) == before


def test_applications_api_needs_an_administrator(directory_client, runtime):
    before = app_rows(runtime)
    response = directory_client.post("/directory/applications", json={"name": "crm"})
    assert response.status_code == 401
    assert directory_client.get("/directory/applications").status_code == 401
    assert app_rows(runtime) == before
