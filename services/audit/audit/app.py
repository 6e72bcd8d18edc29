"""The audit service: The audit log: event consumer, search, CSV export, purge and retention."""

from __future__ import annotations

from fastapi import FastAPI

from shared.runtime import Runtime
from shared.service_app import create_service_app

DESCRIPTION = "Recent security events emitted by the shared auth service."


def create_app(runtime: Runtime) -> FastAPI:
    return create_service_app(
        name="audit",
        title="Identity Services — audit",
        description=DESCRIPTION,
        ops_prefix="/audit",
        routers=[],
        runtime=runtime,
    )
