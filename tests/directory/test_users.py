"""Directory users: the administrator's happy paths."""

from __future__ import annotations

from sqlalchemy import select

from shared.models import UserAccount
from shared.sync_contract import compute_sync_hash
from tests.factories import make_application, make_user


def test_create_normalises_contact_fields(admin):
    response = admin.post(
        "/directory/users",
        json={
            "name": "  Grace Hopper ",
            "email": "Grace.Hopper@Example.COM",
            "mobile_number": "(415) 555-0132",
            "emp_id": "E-100",
        },
    )
    assert response.status_code == 201, response.text
    user = response.json()
    assert user["name"] == "Grace Hopper"
    assert user["email"] == "grace.hopper@example.com"
    assert user["mobile_number"] == "+14155550132"
    assert user["status"] == "active"
    assert user["is_admin"] is False and user["mfa_enabled"] is False
    assert user["sync_hash"] == compute_sync_hash(user)
    assert admin.get(f"/directory/users/{user['auth_user_id']}").json() == user


def test_password_is_stored_only_as_argon2_hash(admin, runtime):
    user = make_user(admin, password="a perfectly long passphrase")
    assert user["has_password"] is True
    with runtime.session_factory() as session:
        stored = session.scalar(
            select(UserAccount.password_hash).where(UserAccount.email == user["email"])
        )
    assert stored.startswith("$argon2id$")
    assert "perfectly" not in stored


def test_edit_updates_fields_hash_and_timestamp(admin):
    user = make_user(admin, name="Old Name")
    response = admin.patch(
        f"/directory/users/{user['auth_user_id']}", json={"name": "New Name", "emp_id": "E-7"}
    )
    assert response.status_code == 200, response.text
    edited = response.json()
    assert edited["name"] == "New Name" and edited["emp_id"] == "E-7"
    assert edited["sync_hash"] != user["sync_hash"]
    assert edited["sync_hash"] == compute_sync_hash(edited)
    assert edited["updated_at"] > user["updated_at"]


def test_disable_enable_and_flags(admin):
    user = make_user(admin)
    path = f"/directory/users/{user['auth_user_id']}"
    assert admin.patch(path, json={"status": "disabled"}).json()["status"] == "disabled"
    flags = admin.patch(path, json={"status": "active", "is_admin": True, "mfa_enabled": True})
    assert flags.json()["status"] == "active"
    assert flags.json()["is_admin"] is True and flags.json()["mfa_enabled"] is True


def test_clearing_an_optional_field(admin):
    user = make_user(admin, mobile_number="+14155550133", emp_id="E-9")
    edited = admin.patch(f"/directory/users/{user['auth_user_id']}", json={"emp_id": ""}).json()
    assert edited["emp_id"] is None


def test_delete_user(admin):
    user = make_user(admin)
    path = f"/directory/users/{user['auth_user_id']}"
    assert admin.delete(path).status_code == 204
    gone = admin.get(path)
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "user_not_found"


def test_list_search_filters_and_paging(admin):
    app = make_application(admin)
    make_user(admin, name="Zed Alpha", emp_id="Z-1", applications=[app["id"]])
    make_user(admin, name="Zed Beta", status="disabled")
    make_user(admin, name="Yara Gamma", mobile_number="+14155550150")

    def names(**params):
        body = admin.get("/directory/users", params=params).json()
        return [u["name"] for u in body["items"]], body["total"]

    assert names(q="zed") == (["Zed Alpha", "Zed Beta"], 2)
    assert names(q="5550150") == (["Yara Gamma"], 1)
    assert names(q="Z-1") == (["Zed Alpha"], 1)
    assert names(status="disabled") == (["Zed Beta"], 1)
    assert names(application_id=app["id"]) == (["Zed Alpha"], 1)
    assert names(is_admin=True) == (["Ada Admin"], 1)
    first, total = names(limit=2, offset=0)
    second, _ = names(limit=2, offset=2)
    assert total == 4 and len(first) == 2 and len(second) == 2
    assert not set(first) & set(second)


def test_search_treats_wildcards_literally(admin):
    make_user(admin, name="100% Real")
    make_user(admin, name="1000 Real")
    body = admin.get("/directory/users", params={"q": "100%"}).json()
    assert [u["name"] for u in body["items"]] == ["100% Real"]
