"""The app-facing pipeline (shared/pipeline.py) seen through a one-route probe service.

The probe is what every `/auth/*` and `/users/sync` endpoint is: a handler
that takes `CallingApp`. The other pipeline test modules import its helpers.
"""

from __future__ import annotations

import httpx
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from shared.audit import AuditRecord, EventType, Outcome
from shared.pipeline import API_KEY_HEADER, CallingApp
from shared.runtime import Runtime
from shared.security.api_keys import generate_api_key
from shared.service_app import create_service_app
from tests.factories import make_app_with_key


def probe_app(runtime: Runtime) -> FastAPI:
    router = APIRouter()

    @router.get("/probe/whoami")
    def whoami(caller: CallingApp) -> dict[str, str | None]:
        """Who the pipeline says is calling."""
        return {"app": caller.app.name, "ip": caller.client.effective_ip}

    return create_service_app(
        name="probe",
        title="Pipeline probe",
        description="A single CallingApp route for testing the pipeline.",
        ops_prefix="/probe",
        routers=[router],
        runtime=runtime,
    )


def call(
    app: FastAPI,
    key: str | None,
    peer: str = "127.0.0.1",
    forwarded_for: str | None = None,
) -> httpx.Response:
    """One request from TCP peer `peer`, with the key (and X-Forwarded-For) given."""
    headers = {}
    if key is not None:
        headers[API_KEY_HEADER] = key
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    return TestClient(app, client=(peer, 40000)).get("/probe/whoami", headers=headers)


def audit_records(runtime: Runtime) -> list[AuditRecord]:
    entries = runtime.redis.xrange(runtime.keys.audit_stream)
    return [AuditRecord.from_stream(fields) for _, fields in entries]  # type: ignore[union-attr]


def denials(runtime: Runtime) -> list[AuditRecord]:
    return [r for r in audit_records(runtime) if r.outcome == Outcome.DENIED]


def assert_denied(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_a_valid_key_from_an_allowed_ip_reaches_the_handler(admin, runtime):
    app, key = make_app_with_key(admin, name="crm", allowed_ips=["127.0.0.0/8"])
    response = call(probe_app(runtime), key, forwarded_for="198.51.100.4")
    assert response.status_code == 200, response.text
    assert response.json() == {"app": "crm", "ip": "127.0.0.1"}
    [record] = [r for r in audit_records(runtime) if r.type == EventType.API_CALL]
    assert (record.outcome, record.application_id) == (Outcome.SUCCESS, app["id"])
    assert (record.effective_ip, record.forwarded_ip, record.remote_addr) == (
        "127.0.0.1",
        "198.51.100.4",
        "127.0.0.1",
    )
    assert record.details["path"] == "/probe/whoami"


def test_missing_malformed_and_unknown_keys_are_401(admin, runtime):
    app, key = make_app_with_key(admin)
    probe = probe_app(runtime)
    wrong_secret = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for attempt in (None, "", "not-a-key", key + "x", generate_api_key().plaintext, wrong_secret):
        assert_denied(call(probe, attempt), 401, "invalid_api_key")
    recorded = denials(runtime)
    assert len(recorded) == 6
    assert {r.type for r in recorded} == {EventType.API_DENIED_KEY}
    assert all(r.effective_ip == r.remote_addr == "127.0.0.1" for r in recorded)
    assert all(r.application_id is None for r in recorded)
    # The real key still works: failures did not poison the cache.
    assert call(probe, key).json()["app"] == app["name"]
