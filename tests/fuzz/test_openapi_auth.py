"""Schemathesis against the auth service's OpenAPI: no 5xx, every response as declared,
every error in the envelope."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from tests.fuzz.support import fuzz_service


def test_every_operation_answers_as_declared(
    auth_app: FastAPI, credentials: Callable[[], dict[str, str]]
) -> None:
    failures = fuzz_service(auth_app, "/auth/openapi.json", credentials)
    assert not failures, "\n\n".join(failures)
