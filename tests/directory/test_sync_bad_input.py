"""`GET /users/sync` refuses bad cursors, bad limits and callers without a valid key."""

from __future__ import annotations

import base64

import pytest

from shared.audit import AuditRecord, EventType, Outcome
from tests.directory.sync_support import assert_error, get_sync
from tests.factories import make_app_with_key, make_user


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


@pytest.fixture
def app_key(admin):
    app, key = make_app_with_key(admin)
    make_user(admin, applications=[app["id"]])
    return key


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "djE6MQ!",  # a valid cursor with a stray character
        "djE6MQ==",  # padded: not the form the service hands out
        b64("v1:"),
        b64("v1:-1"),
        b64("v1:007"),
        b64("v1:abc"),
        b64("v2:1"),
        b64("v1:" + "9" * 30),
        b64("v1:1") * 20,
        "%00",
        "ü",
    ],
)
def test_bad_cursor_is_rejected(admin, app_key, cursor):
    error = assert_error(get_sync(admin, app_key, since=cursor), 400, "invalid_cursor")
    assert "cursor" in error["message"]


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1.5", "10001", str(10**30)])
def test_bad_limit_is_rejected(admin, app_key, limit):
    error = assert_error(get_sync(admin, app_key, limit=limit), 422, "validation_error")
    assert error["message"].startswith("limit")


def test_cursor_handed_out_round_trips(admin, app_key):
    body = get_sync(admin, app_key).json()
    assert get_sync(admin, app_key, since=body["next_cursor"]).status_code == 200


def test_empty_since_means_the_full_set(admin, app_key):
    full = get_sync(admin, app_key).json()
    assert get_sync(admin, app_key, since="").json() == full


def test_request_without_key_is_401(admin):
    response = admin.get("/users/sync")
    assert_error(response, 401, "invalid_api_key")


@pytest.mark.parametrize("key", ["", "ask_nope", "ask_abcdefgh_" + "x" * 43])
def test_request_with_unknown_key_is_401(admin, key):
    response = admin.get("/users/sync", headers={"X-Auth-Service-Key": key})
    assert_error(response, 401, "invalid_api_key")


def test_key_is_checked_before_the_query(admin):
    response = admin.get("/users/sync", params={"since": "garbage", "limit": "x"})
    assert_error(response, 401, "invalid_api_key")


def test_caller_outside_the_allow_list_gets_nothing(admin):
    app, key = make_app_with_key(admin, allowed_ips=["10.0.0.0/8"])
    make_user(admin, applications=[app["id"]])
    assert_error(get_sync(admin, key), 403, "ip_not_allowed")


def test_disabled_application_gets_nothing(admin):
    app, key = make_app_with_key(admin, status="disabled")
    make_user(admin, applications=[app["id"]])
    assert_error(get_sync(admin, key), 403, "app_disabled")


def test_bad_requests_change_nothing(admin, app_key):
    before = get_sync(admin, app_key)
    get_sync(admin, app_key, since="garbage")
    get_sync(admin, app_key, limit=0)
    after = get_sync(admin, app_key)
    assert after.json() == before.json()
    assert after.headers["etag"] == before.headers["etag"]


def test_refused_calls_are_audited_with_their_error_code(admin, runtime, app_key):
    get_sync(admin, app_key, limit="abc")
    get_sync(admin, app_key, since="garbage")

    records = [
        AuditRecord.from_stream(fields)
        for _, fields in runtime.redis.xrange(runtime.keys.audit_stream)
    ]
    calls = [r for r in records if r.type == EventType.API_CALL]
    assert [(r.outcome, r.details["error"]) for r in calls] == [
        (Outcome.FAILURE, "validation_error"),
        (Outcome.FAILURE, "invalid_cursor"),
    ]
