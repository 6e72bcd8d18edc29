"""Two ASGI middlewares: security headers on every console response, and the session.

The session middleware also refuses any state-changing request whose Origin
(or, failing that, Referer) names another site, before the request reaches a
handler; the CSRF token is checked on top of that (`security.csrf`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from anyio import to_thread
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from console.security.session import SessionStore, cookie_name, is_https
from shared.runtime import Runtime

PAGE_PREFIX = "/setup"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
# The interactive API reference (FastAPI's /console/docs) loads its own scripts.
NO_CSP_PATHS = frozenset({"/console/docs"})

FOREIGN_ORIGIN_PAGE = (
    "<!doctype html><title>Request refused</title>"
    "<h1>Request refused</h1><p>This request came from another site.</p>"
)


def _is_page(path: str) -> bool:
    return path == PAGE_PREFIX or path.startswith(PAGE_PREFIX + "/")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name == "content-security-policy" and path in NO_CSP_PATHS:
                        continue
                    headers.setdefault(name, value)
                if _is_page(path):
                    # Pages show keys, users and settings: never keep them in a cache.
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, with_headers)


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site.

    Browsers send Origin on every cross-site POST; a request with neither
    Origin nor Referer still needs the session's CSRF token.
    """
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None:
        return True
    if source == "null":
        return False
    return urlsplit(source).netloc.lower() == request.headers.get("host", "").lower()


class SessionMiddleware:
    def __init__(self, app: ASGIApp, runtime: Runtime, store: SessionStore) -> None:
        self.app = app
        self.runtime = runtime
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_page(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if request.method not in SAFE_METHODS and not same_origin(request):
            await HTMLResponse(FOREIGN_ORIGIN_PAGE, status_code=403)(scope, receive, send)
            return
        secure = is_https(request, self.runtime)
        name = cookie_name(secure)
        presented = request.cookies.get(name, "")
        session = await to_thread.run_sync(self.store.load, presented) if presented else None
        if session is None:
            session = self.store.new()
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
