"""The auth service: sign-in, tokens, sessions, devices, recovery; admin sign-in."""

from __future__ import annotations

from fastapi import FastAPI

from shared.runtime import Runtime
from shared.service_app import create_service_app

DESCRIPTION = (
    "Shared authentication endpoints for registered applications. "
    "Use an API Auth Key from the Applications section."
)


def create_app(runtime: Runtime) -> FastAPI:
    return create_service_app(
        name="auth",
        title="Identity Services — auth",
        description=DESCRIPTION,
        ops_prefix="/auth",
        routers=[],
        runtime=runtime,
    )
