"""All services in one process, on the same paths they have behind Traefik (dev mode)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AsyncExitStack

from fastapi import FastAPI
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from audit.app import create_app as create_audit_app
from auth.app import create_app as create_auth_app
from console.app import create_app as create_console_app
from console.app import use_in_process_api
from directory.app import create_app as create_directory_app
from otp_delivery.app import create_app as create_otp_app
from shared.runtime import Runtime


class PrefixDispatcher:
    """Routes by path prefix, like Traefik does; paths are passed through unchanged."""

    def __init__(self, routes: Sequence[tuple[str, ASGIApp]], fallback: FastAPI) -> None:
        self.routes = routes
        self.fallback = fallback
        self.apps: list[FastAPI] = [a for _, a in routes if isinstance(a, FastAPI)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path: str = scope.get("path", "")
        for prefix, app in self.routes:
            if path == prefix or path.startswith(prefix + "/"):
                await app(scope, receive, send)
                return
        await self.fallback(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        async with AsyncExitStack() as stack:
            try:
                for app in dict.fromkeys(self.apps):
                    await stack.enter_async_context(app.router.lifespan_context(app))
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
            assert message["type"] == "lifespan.shutdown"
        await send({"type": "lifespan.shutdown.complete"})


def create_embedded_app(runtime: Runtime) -> PrefixDispatcher:
    auth = create_auth_app(runtime)
    directory = create_directory_app(runtime)
    otp = create_otp_app(runtime)
    audit = create_audit_app(runtime)
    console = create_console_app(runtime)
    # The path prefixes Traefik routes to each service (traefik/README.md).
    routes: list[tuple[str, ASGIApp]] = [
        ("/auth", auth),
        ("/.well-known", auth),
        ("/account", auth),
        ("/directory", directory),
        ("/users", directory),
        ("/otp", otp),
        ("/audit", audit),
        ("/setup", console),
        ("/console", console),
    ]
    landing = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @landing.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/setup")

    dispatcher = PrefixDispatcher(routes, landing)
    use_in_process_api(console, dispatcher)
    return dispatcher
