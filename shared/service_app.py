"""Building one service's FastAPI app the same way for all five."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.types import ASGIApp

from shared.errors import install_error_handlers
from shared.ops import MetricsMiddleware, ops_router
from shared.runtime import Runtime


def create_service_app(
    *,
    name: str,
    title: str,
    description: str,
    ops_prefix: str,
    routers: Sequence[APIRouter],
    runtime: Runtime,
    on_start: Callable[[Runtime], None] | None = None,
    hot_paths: Sequence[Callable[[ASGIApp], ASGIApp]] = (),
) -> FastAPI:
    """`hot_paths`: ASGI middleware that answer a hot endpoint before FastAPI's routing;
    they run inside the metrics middleware, so their requests are counted too."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if on_start is not None:
            on_start(runtime)
        runtime.start()
        # Everything loaded so far (modules, models, routes) lives as long as the
        # process: move it out of the collector's sight, so a full collection
        # under load scans only what requests made (they were 50-100 ms pauses).
        gc.freeze()
        try:
            yield
        finally:
            runtime.stop()

    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=lifespan,
        # The services report through Prometheus (/metrics) and JSON logs. FastAPI's native
        # OpenTelemetry would ask the global providers on every request whether it is
        # configured; with only the API package installed it never is.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        openapi_url=f"{ops_prefix}/openapi.json",
        docs_url=f"{ops_prefix}/docs",
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.session_factory = runtime.session_factory
    app.state.service_name = name
    install_error_handlers(app)
    for hot_path in hot_paths:
        app.add_middleware(hot_path)
    app.add_middleware(MetricsMiddleware, service=name)
    app.include_router(ops_router(ops_prefix))
    for router in routers:
        _summaries_from_docstrings(router)
        app.include_router(router)
    return app


def _summaries_from_docstrings(router: APIRouter) -> None:
    """An endpoint's one-line docstring is its OpenAPI summary (the console's API docs show it)."""
    for route in router.routes:
        if isinstance(route, APIRoute) and route.summary is None and route.description:
            route.summary = route.description.strip().splitlines()[0]
