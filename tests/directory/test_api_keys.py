"""API auth keys: shown once, stored only as a hash, listed for the console, deleted by id."""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy import select

from shared.audit import AuditRecord, EventType
from shared.models import ApiKey
from tests.factories import make_application

KEY_FIELDS = {
    "key_id",
    "application_id",
    "application_name",
    "prefix",
    "status",
    "created_at",
    "last_used_at",
}


def key_rows(runtime) -> list[tuple]:
    with runtime.session_factory() as session:
        return sorted(
            map(tuple, session.execute(select(ApiKey.id, ApiKey.prefix, ApiKey.key_hash)))
        )


def test_created_key_is_shown_once_and_stored_only_as_its_hash(admin, runtime):
    app = make_application(admin, name="crm")
    response = admin.post(f"/directory/applications/{app['id']}/keys")
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == KEY_FIELDS | {"api_key"}
    plaintext = created["api_key"]
    assert plaintext.startswith(f"ask_{created['prefix']}_")
    assert (created["application_id"], created["application_name"]) == (app["id"], "crm")
    assert (created["status"], created["last_used_at"]) == ("active", None)

    listed = admin.get(f"/directory/applications/{app['id']}/keys").json()
    assert listed == [{k: v for k, v in created.items() if k != "api_key"}]
    assert plaintext not in admin.get("/directory/keys").text
    assert admin.get(f"/directory/applications/{app['id']}").json()["keys"] == 1

    [(key_id, prefix, key_hash)] = key_rows(runtime)
    assert str(key_id) == created["key_id"]
    assert key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in (prefix, key_hash)


def test_key_changes_are_audited_without_the_secret(admin, runtime):
    app = make_application(admin)
    created = admin.post(f"/directory/applications/{app['id']}/keys").json()
    assert admin.delete(f"/directory/keys/{created['key_id']}").status_code == 204

    raw = str(runtime.redis.xrange(runtime.keys.audit_stream))
    key_hash = hashlib.sha256(created["api_key"].encode()).hexdigest()
    assert created["api_key"] not in raw
    assert key_hash not in raw
    records = [
        AuditRecord.from_stream(f) for _, f in runtime.redis.xrange(runtime.keys.audit_stream)
    ]
    types = [r.type for r in records]
    assert EventType.ADMIN_KEY_CREATED in types
    deleted = next(r for r in records if r.type == EventType.ADMIN_KEY_DELETED)
    assert deleted.details["before"]["key_id"] == created["key_id"]
    assert deleted.application_id == app["id"]


def test_every_key_listing_pages_newest_first(admin):
    crm = make_application(admin, name="crm")
    hr = make_application(admin, name="hr")
    first = admin.post(f"/directory/applications/{crm['id']}/keys").json()
    second = admin.post(f"/directory/applications/{hr['id']}/keys").json()
    third = admin.post(f"/directory/applications/{crm['id']}/keys").json()

    page = admin.get("/directory/keys", params={"limit": 2}).json()
    assert page["total"] == 3
    assert [k["key_id"] for k in page["items"]] == [third["key_id"], second["key_id"]]
    assert all(set(k) == KEY_FIELDS for k in page["items"])
    rest = admin.get("/directory/keys", params={"offset": 2}).json()
    assert [k["key_id"] for k in rest["items"]] == [first["key_id"]]
    only_hr = admin.get("/directory/keys", params={"application_id": hr["id"]}).json()
    assert [(k["key_id"], k["application_name"]) for k in only_hr["items"]] == [
        (second["key_id"], "hr")
    ]


def test_delete_key_then_it_is_gone(admin, runtime):
    app = make_application(admin)
    keep = admin.post(f"/directory/applications/{app['id']}/keys").json()
    drop = admin.post(f"/directory/applications/{app['id']}/keys").json()

    assert admin.delete(f"/directory/keys/{drop['key_id']}").status_code == 204
    again = admin.delete(f"/directory/keys/{drop['key_id']}")
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "api_key_not_found"
    remaining = admin.get(f"/directory/applications/{app['id']}/keys").json()
    assert [k["key_id"] for k in remaining] == [keep["key_id"]]
    assert [str(row[0]) for row in key_rows(runtime)] == [keep["key_id"]]


def test_bad_key_requests_change_nothing(admin, runtime, directory_client):
    app = make_application(admin)
    admin.post(f"/directory/applications/{app['id']}/keys")
    before = key_rows(runtime)
    unknown = admin.delete(f"/directory/keys/{uuid.uuid4()}")
    assert unknown.json()["error"]["code"] == "api_key_not_found"
    assert admin.delete("/directory/keys/not-a-uuid").status_code == 422
    assert admin.get("/directory/keys", params={"limit": 0}).status_code == 422
    assert key_rows(runtime) == before
