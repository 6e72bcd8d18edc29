"""Helpers that let an auth test read as the consuming application's side of a flow."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from fastapi.testclient import TestClient

from shared.audit import AuditRecord
from shared.otp_contract import OtpDeliveryTask
from shared.runtime import Runtime

PASSWORD = "violet-harbour-engine-41"


class Outbox:
    """The OTP producer hook, recording each task; `secret()` reads it as the worker would."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self.tasks: list[OtpDeliveryTask] = []

    def __call__(self, task: OtpDeliveryTask) -> None:
        self.tasks.append(task)

    def secret(self, index: int = -1) -> str:
        return self._runtime.box.decrypt(self.tasks[index].secret_encrypted or "")


class AppCaller:
    def __init__(self, client: TestClient, api_key: str, app: dict[str, Any]) -> None:
        self.client = client
        self.api_key = api_key
        self.app = app

    def headers(self, token: str | None = None) -> dict[str, str]:
        headers = {"X-Auth-Service-Key": self.api_key}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def post(self, path: str, body: Any = None, token: str | None = None) -> httpx.Response:
        return self.client.post(path, json=body, headers=self.headers(token))

    def session(self, access_token: str) -> httpx.Response:
        return self.client.get("/auth/session", headers=self.headers(access_token))

    def login(self, login: str, password: str = PASSWORD, **extra: Any) -> httpx.Response:
        return self.post("/auth/login", {"login": login, "password": password, **extra})

    def signed_in(self, login: str) -> dict[str, Any]:
        response = self.login(login)
        assert response.status_code == 200, response.text
        return response.json()

    def refresh(self, refresh_token: str) -> httpx.Response:
        return self.post("/auth/token/refresh", {"refresh_token": refresh_token})


def error_of(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """For effects of the directory-event consumer, which runs in its own thread."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.02)


def audit_events(runtime: Runtime, event_type: str) -> list[AuditRecord]:
    entries = runtime.redis.xrange(runtime.keys.audit_stream)
    records = [AuditRecord.from_stream(fields) for _, fields in entries]
    return [r for r in records if r.type == event_type]
