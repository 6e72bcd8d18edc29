"""The console's session middleware, and where its security headers apply.

The headers and the Origin check are those of every HTML page the services
serve (`shared/web_pages.py`). The session middleware also refuses any
state-changing request whose Origin (or, failing that, Referer) names another
site, before the request reaches a handler; the CSRF token is checked on top
of that (`security.csrf`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import redis
from anyio import to_thread
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from console.security.session import SessionStore, cookie_name
from shared.runtime import Runtime
from shared.web_pages import SAFE_METHODS, is_https, same_origin

PAGE_PREFIX = "/setup"
# The interactive API reference (FastAPI's /console/docs) loads its own scripts.
NO_CSP_PATHS = frozenset({"/console/docs"})

FOREIGN_ORIGIN_PAGE = (
    "<!doctype html><title>Request refused</title>"
    "<h1>Request refused</h1><p>This request came from another site.</p>"
)


# The page shown instead of any other while the session store (Redis) cannot be reached.
StoreDownPage = Callable[[Request, redis.RedisError], Awaitable[Response]]


def _is_page(path: str) -> bool:
    return path == PAGE_PREFIX or path.startswith(PAGE_PREFIX + "/")


class SessionMiddleware:
    def __init__(
        self, app: ASGIApp, runtime: Runtime, store: SessionStore, store_down: StoreDownPage
    ) -> None:
        self.app = app
        self.runtime = runtime
        self.store = store
        self.store_down = store_down

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_page(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if request.method not in SAFE_METHODS and not same_origin(request):
            await HTMLResponse(FOREIGN_ORIGIN_PAGE, status_code=403)(scope, receive, send)
            return
        secure = is_https(request, self.runtime.settings.trusted_proxy_networks)
        name = cookie_name(secure)
        presented = request.cookies.get(name, "")
        try:
            session = await to_thread.run_sync(self.store.open, presented)
        except redis.RedisError as exc:
            scope.setdefault("state", {})["console_session"] = self.store.new()  # never saved
            await (await self.store_down(Request(scope), exc))(scope, receive, send)
            return
        scope.setdefault("state", {})["console_session"] = session

        async def save_and_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A handler may have swapped the session (sign-in, sign-out): save the current one.
                current = scope["state"]["console_session"]
                await to_thread.run_sync(self.store.save, current)
                if current.id != presented:
                    cookie = f"{name}={current.id}; Path=/; HttpOnly; SameSite=Lax"
                    if secure:
                        cookie += "; Secure"
                    MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, save_and_send)
