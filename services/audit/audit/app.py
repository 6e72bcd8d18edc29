"""The audit service: the audit log's search, CSV export, purge and usage counters.

The stream consumer that fills the log runs as its own process
(`python -m audit.consumer`); in the embedded dev mode it runs as a thread here.
"""

from __future__ import annotations

from fastapi import FastAPI

from audit.background import start_embedded_consumer
from audit.events.router import router as events_router
from audit.usage.router import router as usage_router
from shared.runtime import Runtime
from shared.service_app import create_service_app

DESCRIPTION = (
    "Recent security events emitted by the shared identity services: admin actions, "
    "API usage, denied requests and rejected IP calls."
)


def create_app(runtime: Runtime) -> FastAPI:
    if runtime.settings.is_dev:
        start_embedded_consumer(runtime)
    return create_service_app(
        name="audit",
        title="Identity Services — audit",
        description=DESCRIPTION,
        ops_prefix="/audit",
        routers=[events_router, usage_router],
        runtime=runtime,
    )
