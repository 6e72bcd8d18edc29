"""`GET /auth/session` answered in front of FastAPI's routing and dependency solving.

Applications check their users' tokens on nearly every request they serve, so
this one endpoint carries most of the service's traffic. Profiled under load
(`bench/profile_auth.py`, before/after in bench/README.md), FastAPI's routing
and dependency solving were on the stack in most samples; the work itself
(the pipeline, a Redis read, the audit event) took far less.

`SessionHotPath` is an ASGI middleware that answers exactly `GET /auth/session`
with the same pieces the FastAPI route uses (`AppPipeline.call`,
`session_body`) and the app's own exception handlers, so answers, audit events
and error envelopes are the same; everything else passes through. It sits
inside `MetricsMiddleware`, so the endpoint is counted under its route. The
FastAPI route stays: it is the endpoint's OpenAPI description, and answers
when the middleware is not installed (tests compare the two).
"""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from auth.sessions.lookup import session_body
from auth.sessions.router import router

PATH = "/auth/session"


class SessionHotPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # The documented route, for the metrics label `scope["route"]` gives.
        self._route = next(r for r in router.routes if isinstance(r, APIRoute) and r.path == PATH)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        service = scope["app"]
        scope["route"] = self._route
        request = Request(scope, receive)
        try:
            pipeline = service.state.runtime.app_pipeline
            async with pipeline.call(request) as caller:
                response = await session_body(request, caller, bearer_token(request))
        except Exception as exc:
            response = await self._handled(service, request, exc)
        await response(scope, receive, send)

    @staticmethod
    async def _handled(service: Any, request: Request, exc: Exception) -> Response:
        """The answer the app's exception handlers give (the error envelope, 503s)."""
        handlers = service.exception_handlers
        for cls in type(exc).__mro__:
            handler = handlers.get(cls)
            if handler is not None:
                return await handler(request, exc)
        raise exc


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, as FastAPI's HTTPBearer reads it."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None
