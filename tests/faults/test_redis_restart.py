"""Redis killed and restarted under the auth and directory services, which keep running.

While it is down every call that needs it is a clean 503 (a denial it cannot
record is a 503 too, never an allow); once it is back the same processes
serve again, and every call answered 200 has its audit event, once.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from shared.audit import AuditRecord, EventType, Outcome
from shared.runtime import Runtime
from tests.auth.support import PASSWORD, AppCaller, audit_events
from tests.faults.support import (
    PrivateRedis,
    Response,
    Traffic,
    error_of,
    is_unavailable,
    wait_until,
)


def _wrong_key(caller: AppCaller) -> str:
    return caller.api_key[:-1] + ("A" if caller.api_key[-1] != "A" else "B")


def _with_key(caller: AppCaller, key: str, token: str) -> Response:
    headers = {"X-Auth-Service-Key": key, "Authorization": f"Bearer {token}"}
    return caller.client.get("/auth/session", headers=headers)


def _session_calls(runtime: Runtime) -> list[AuditRecord]:
    calls = audit_events(runtime, EventType.API_CALL)
    return [r for r in calls if (r.details or {}).get("path") == "/auth/session"]


def test_calls_get_503_while_redis_is_down_and_succeed_again_after_restart(
    private_redis: PrivateRedis,
    redis_runtime: Runtime,
    redis_caller: AppCaller,
    redis_admin: TestClient,
    redis_member: dict[str, Any],
) -> None:
    caller, login = redis_caller, redis_member["email"]
    token = caller.signed_in(login)["access_token"]
    ended = caller.signed_in(login)["access_token"]
    assert caller.post("/auth/logout", token=ended).status_code == 200
    answered = [caller.session(token).status_code for _ in range(5)]

    private_redis.kill()
    down: list[Response] = [
        caller.session(token),
        caller.session(ended),  # revoked: may not be answered 200
        _with_key(caller, _wrong_key(caller), token),  # the denial cannot be recorded
        caller.login(login),
        redis_admin.get("/directory/users"),
        redis_admin.post("/directory/users", json={"name": "Late", "email": "late@example.com"}),
    ]
    assert [r.status_code for r in down] == [503] * len(down), [r.text for r in down]
    assert all(is_unavailable(r) for r in down)
    assert down[0].headers["Retry-After"] == "2"
    ready = caller.client.get("/auth/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["database"] == "ok"

    private_redis.start()  # same port; the apps are not restarted
    wait_until(lambda: caller.session(token).status_code == 200, what="the session to answer")
    answered += [200] + [caller.session(token).status_code for _ in range(5)]
    assert answered == [200] * 11
    assert error_of(caller.session(ended)) == (401, "session_revoked")
    assert error_of(_with_key(caller, _wrong_key(caller), token)) == (401, "invalid_api_key")
    assert caller.login(login, PASSWORD).status_code == 200
    emails = [u["email"] for u in redis_admin.get("/directory/users").json()["items"]]
    assert "late@example.com" not in emails
    assert caller.client.get("/auth/readyz").status_code == 200

    # Every session call answered 200 is in the audit stream exactly once.
    records = _session_calls(redis_runtime)
    successes = [r for r in records if r.outcome == Outcome.SUCCESS]
    assert len(successes) == len(answered)
    assert len({r.uuid for r in records}) == len(records)


def test_traffic_through_a_redis_restart_sees_only_200_401_or_503(
    private_redis: PrivateRedis,
    redis_caller: AppCaller,
    redis_admin: TestClient,
    redis_member: dict[str, Any],
) -> None:
    caller = redis_caller
    token = caller.signed_in(redis_member["email"])["access_token"]
    wrong = _wrong_key(caller)
    traffic = Traffic(
        {
            "session": lambda: caller.session(token),
            "wrong key": lambda: _with_key(caller, wrong, token),
            "admin": lambda: redis_admin.get("/directory/users"),
        }
    )
    with traffic:
        wait_until(lambda: traffic.seen[("session", 200)] >= 3, what="traffic before the fault")
        private_redis.kill()
        wait_until(lambda: traffic.seen[("session", 503)] >= 3, what="503s during the outage")
        private_redis.start()
        recovered = traffic.seen[("session", 200)]
        wait_until(lambda: traffic.seen[("session", 200)] >= recovered + 3, what="recovery")
        time.sleep(0.2)

    assert traffic.statuses("session") == {200, 503}, traffic.bodies
    assert traffic.statuses("wrong key") <= {401, 503}, traffic.bodies
    assert traffic.statuses("admin") <= {200, 503}, traffic.bodies
    assert "Traceback" not in traffic.bodies.get(503, "")
