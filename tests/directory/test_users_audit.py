"""The audit trail of user changes (kept a year, exported as CSV) holds no contact data in clear."""

from __future__ import annotations

from shared.audit import AuditRecord, EventType
from tests.factories import make_user

EMAIL, NEW_EMAIL = "grace.hopper@example.com", "amazing.grace@example.net"
MOBILE, NEW_MOBILE = "+14155550132", "+14155550199"
# Every way the contact data could show up: whole, the local part, the digits.
TRACES = ("grace.hopper", "amazing.grace", "4155550132", "4155550199")


def _details(runtime, event_type: EventType) -> list[dict]:
    records = [
        AuditRecord.from_stream(f) for _, f in runtime.redis.xrange(runtime.keys.audit_stream)
    ]
    return [r.details for r in records if r.type == event_type]


def test_created_updated_and_deleted_users_are_audited_with_contact_data_masked(admin, runtime):
    user = make_user(admin, name="Grace", email=EMAIL, mobile_number=MOBILE)
    path = f"/directory/users/{user['auth_user_id']}"
    edited = admin.patch(path, json={"email": NEW_EMAIL, "mobile_number": NEW_MOBILE})
    assert edited.status_code == 200, edited.text
    assert admin.delete(path).status_code == 204

    (created,) = _details(runtime, EventType.ADMIN_USER_CREATED)
    (updated,) = _details(runtime, EventType.ADMIN_USER_UPDATED)
    (deleted,) = _details(runtime, EventType.ADMIN_USER_DELETED)
    for details in (created, updated, deleted):
        assert not [trace for trace in TRACES if trace in str(details)], details
    assert created["after"]["email"] == "g***r@example.com"
    assert created["after"]["mobile_number"] == "+1******0132"
    assert created["after"]["name"] == "Grace"
    # The change itself stays visible.
    assert updated == {
        "before": {"email": "g***r@example.com", "mobile_number": "+1******0132"},
        "after": {"email": "a***e@example.net", "mobile_number": "+1******0199"},
    }
    assert deleted["before"]["email"] == "a***e@example.net"
    assert deleted["before"]["mobile_number"] == "+1******0199"


def test_an_email_change_the_mask_cannot_show_is_still_listed_as_a_change(admin, runtime):
    user = make_user(admin, email="anne@example.com")
    path = f"/directory/users/{user['auth_user_id']}"
    assert admin.patch(path, json={"email": "amie@example.com"}).status_code == 200
    (updated,) = _details(runtime, EventType.ADMIN_USER_UPDATED)
    assert updated == {
        "before": {"email": "a***e@example.com"},
        "after": {"email": "a***e@example.com"},
    }
