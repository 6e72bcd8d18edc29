"""All services in one process, on the same paths they have behind Traefik (dev mode)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AsyncExitStack

from fastapi import FastAPI
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from audit.app import create_app as create_audit_app
from auth.app import create_app as create_auth_app
from directory.app import create_app as create_directory_app
from otp_delivery.app import create_app as create_otp_app
from shared.runtime import Runtime

LANDING = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Identity Services</title></head>
<body style="font-family:sans-serif;max-width:44em;margin:3em auto">
<h1>Identity Services (embedded dev mode)</h1>
<p>Configure shared identity for apps. App-level authorization stays inside each application.</p>
<p>Running here now: the <b>directory</b> service &mdash;
<a href="/directory/docs">API docs</a>, <a href="/directory/readyz">readiness</a>.</p>
<p>The setup console, sign-in, OTP delivery and audit services are not built yet.
Until the console exists, create an administrator and a short-lived admin token with
<code>.venv/bin/python -m directory.cli create-admin</code> and
<code>.venv/bin/python -m directory.cli admin-token</code>.</p>
</body></html>"""


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
    # The path prefixes Traefik routes to each service (traefik/README.md).
    routes: list[tuple[str, ASGIApp]] = [
        ("/auth", auth),
        ("/directory", directory),
        ("/users", directory),
        ("/otp", otp),
        ("/audit", audit),
    ]
    landing = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @landing.get("/setup", include_in_schema=False)
    def setup_page() -> HTMLResponse:
        return HTMLResponse(LANDING)

    @landing.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/setup")

    return PrefixDispatcher(routes, landing)
