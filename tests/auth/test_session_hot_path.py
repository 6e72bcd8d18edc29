"""`GET /auth/session` runs no SQL for a valid token, and stays correct without Redis entries."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import event, update

from shared.models import AuthSession
from shared.models.base import utcnow
from tests.auth.support import error_of


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
