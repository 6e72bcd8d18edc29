"""The directory service: users, applications, API keys, assignments, CSV import, user sync."""

from __future__ import annotations

from fastapi import FastAPI

from directory.applications.router import router as applications_router
from directory.imports.router import router as imports_router
from directory.keys.router import router as keys_router
from directory.keys.usage import register_usage_mover
from directory.outbox import register_outbox_relay
from directory.sync.router import router as sync_router
from directory.users.router import router as users_router
from shared.runtime import Runtime
from shared.service_app import create_service_app

DESCRIPTION = (
    "Create users, assign auth-service administrators, and review MFA flag, devices, "
    "and active sessions. Register applications, create API auth keys, and use the "
    "registry for user assignments."
)


def _start_background(runtime: Runtime) -> None:
    register_usage_mover(runtime)
    register_outbox_relay(runtime)


def create_app(runtime: Runtime) -> FastAPI:
    return create_service_app(
        name="directory",
        title="Identity Services — directory",
        description=DESCRIPTION,
        ops_prefix="/directory",
        routers=[users_router, imports_router, applications_router, keys_router, sync_router],
        runtime=runtime,
        on_start=_start_background,
    )
