"""`GET /auth/session` runs no SQL for a valid token, and stays correct without Redis entries."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import event, update

from auth.app import create_app as create_auth_app
from auth.sessions.hot_path import SessionHotPath
from shared.audit import AuditRecord
from shared.models import AuthSession
from shared.models.base import utcnow
from shared.redis_client import BatchedRedis
from tests.auth.support import error_of
from tests.conftest import serve
from tests.factories import make_app_with_key


@pytest.fixture
def statements(runtime) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", record)
    yield seen
    event.remove(runtime.engine, "before_cursor_execute", record)


def _drop_cached_sessions(runtime) -> None:
    for key in runtime.redis.scan_iter(match=runtime.keys("auth", "*")):
        runtime.redis.delete(key)


def test_a_valid_token_is_checked_without_any_sql(caller, member, statements):
    tokens = caller.signed_in(member["email"])
    assert caller.session(tokens["access_token"]).status_code == 200  # warms the key cache
    statements.clear()
    for _ in range(5):
        assert caller.session(tokens["access_token"]).status_code == 200
    assert statements == []


def test_with_redis_entries_gone_the_database_answers_and_refills(
    caller, member, runtime, statements
):
    tokens = caller.signed_in(member["email"])
    _drop_cached_sessions(runtime)
    statements.clear()
    first = caller.session(tokens["access_token"])
    assert first.status_code == 200
    assert first.json()["user"] == tokens["user"]
    assert statements  # read through
    statements.clear()
    assert caller.session(tokens["access_token"]).status_code == 200
    assert statements == []


def test_a_revocation_the_cache_missed_is_still_seen_in_the_database(caller, member, runtime):
    tokens = caller.signed_in(member["email"])
    with runtime.session_factory() as db:
        db.execute(update(AuthSession).values(revoked_at=utcnow(), revoked_reason="test"))
        db.commit()
    _drop_cached_sessions(runtime)
    assert error_of(caller.session(tokens["access_token"])) == (401, "session_revoked")


def test_sessions_record_device_ip_and_user_agent(caller, member, runtime):
    device = {"device_id": "laptop-7", "name": "Work laptop", "platform": "macos"}
    response = caller.client.post(
        "/auth/login",
        json={"login": member["email"], "password": "violet-harbour-engine-41", "device": device},
        headers={**caller.headers(), "User-Agent": "payroll-app/2.1"},
    )
    assert response.status_code == 200, response.text
    with runtime.session_factory() as db:
        row = db.get(AuthSession, uuid.UUID(response.json()["session"]["session_id"]))
        assert row.ip == "127.0.0.1"
        assert row.user_agent == "payroll-app/2.1"
        assert row.device_id is not None


# --- the hot path and the documented route answer alike -------------------------


@pytest.fixture(scope="module")
def route_only_client(runtime) -> Iterator[TestClient]:
    """The auth app without `SessionHotPath`: `/auth/session` answered by the FastAPI route."""
    app = create_auth_app(runtime)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not SessionHotPath]
    yield from serve(app)


def _calls(caller, client, token: str, other_key: str) -> dict[str, tuple[int, Any]]:
    key = caller.api_key
    cases = {
        "valid": {"X-Auth-Service-Key": key, "Authorization": f"Bearer {token}"},
        "no bearer": {"X-Auth-Service-Key": key},
        "basic scheme": {"X-Auth-Service-Key": key, "Authorization": f"Basic {token}"},
        "empty bearer": {"X-Auth-Service-Key": key, "Authorization": "Bearer   "},
        "forged token": {"X-Auth-Service-Key": key, "Authorization": f"Bearer {token}x"},
        "no key": {"Authorization": f"Bearer {token}"},
        "other app's key": {"X-Auth-Service-Key": other_key, "Authorization": f"Bearer {token}"},
    }
    answers = {}
    for name, headers in cases.items():
        response = client.get("/auth/session", headers=headers)
        answers[name] = (response.status_code, response.json())
    return answers


def test_the_hot_path_answers_like_the_documented_route(
    caller, member, admin, runtime, route_only_client
):
    tokens = caller.signed_in(member["email"])
    _, other_key = make_app_with_key(admin)
    runtime.redis.delete(runtime.keys.audit_stream)

    fast = _calls(caller, caller.client, tokens["access_token"], other_key)
    fast_events = _api_events(runtime)
    runtime.redis.delete(runtime.keys.audit_stream)
    documented = _calls(caller, route_only_client, tokens["access_token"], other_key)

    assert fast == documented
    assert fast["valid"][0] == 200
    assert fast["valid"][1]["user"] == tokens["user"]
    assert {name: status for name, (status, _) in fast.items() if name != "valid"} == {
        "no bearer": 401,
        "basic scheme": 401,
        "empty bearer": 401,
        "forged token": 401,
        "no key": 401,
        "other app's key": 401,
    }
    # Every call, allowed or not, left the same audit event either way.
    assert fast_events == _api_events(runtime)
    assert len(fast_events) == len(fast)


def _api_events(runtime) -> list[tuple[str, str, str | None, str | None]]:
    entries = runtime.redis.xrange(runtime.keys.audit_stream)
    records = [AuditRecord.from_stream(fields) for _, fields in entries]
    return [(r.type, r.outcome, r.subject_user_id, r.details.get("error")) for r in records]


def test_hot_path_requests_are_counted_under_their_route(caller, member):
    tokens = caller.signed_in(member["email"])

    def served() -> float:
        sample = re.search(
            r'^identity_http_requests_total\{method="GET",route="/auth/session",'
            r'service="auth",status="200"\} (\S+)$',
            caller.client.get("/auth/metrics").text,
            re.M,
        )
        return float(sample.group(1)) if sample else 0.0

    before = served()
    for _ in range(3):
        assert caller.session(tokens["access_token"]).status_code == 200
    assert served() == before + 3


def test_a_redis_outage_on_the_hot_path_is_a_503_envelope(caller, member, runtime, monkeypatch):
    tokens = caller.signed_in(member["email"])

    async def down(*_args):
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(BatchedRedis, "execute", lambda self, *args: down())
    response = caller.session(tokens["access_token"])
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
