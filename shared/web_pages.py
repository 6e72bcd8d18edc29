"""What every HTML page the services serve sends and checks: the console and the hosted
sign-in pages of the auth service alike.

- A strict Content-Security-Policy (own scripts and styles only, no framing),
  nosniff, a same-origin referrer, and `no-store` on pages;
- the Origin (or Referer) check that refuses a state-changing request another
  site made, before any handler runs (CSRF tokens are checked on top);
- whether the browser sees HTTPS (our scheme, or a trusted proxy's
  X-Forwarded-Proto), which decides the Secure flag and `__Host-` cookie names.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.client_ip import parse_ip

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
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def under(path: str, prefixes: Sequence[str]) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


class SecurityHeadersMiddleware:
    """The headers above on every response (a page may set its own, stricter or with a
    wider form-action, first); `no-store` on the pages under `page_prefixes`.

    `only_under`: leave every other path alone (the auth service's JSON API, whose
    session check is its hottest path, carries no pages).
    """

    def __init__(
        self,
        app: ASGIApp,
        page_prefixes: Sequence[str],
        *,
        no_csp_paths: frozenset[str] = frozenset(),
        only_under: Sequence[str] | None = None,
    ) -> None:
        self.app = app
        self.page_prefixes = tuple(page_prefixes)
        self.no_csp_paths = no_csp_paths
        self.only_under = tuple(only_under) if only_under is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or (
            self.only_under is not None and not under(path, self.only_under)
        ):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name == "content-security-policy" and path in self.no_csp_paths:
                        continue
                    headers.setdefault(name, value)
                if under(path, self.page_prefixes):
                    # Pages show keys, users and settings: never keep them in a cache.
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, with_headers)


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site.

    Browsers send Origin on every cross-site POST; a request with neither
    Origin nor Referer still needs the page's CSRF token.
    """
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None:
        return True
    if source == "null":
        return False
    return urlsplit(source).netloc.lower() == request.headers.get("host", "").lower()


def is_https(request: Request, trusted: Sequence[IPv4Network | IPv6Network]) -> bool:
    """HTTPS as the browser sees it: our own scheme, or a trusted proxy's X-Forwarded-Proto."""
    if request.url.scheme == "https":
        return True
    peer = parse_ip(request.client.host if request.client else None)
    if peer is None or not any(peer.version == n.version and peer in n for n in trusted):
        return False
    forwarded = request.headers.get("x-forwarded-proto", "")
    return forwarded.split(",")[0].strip().lower() == "https"


def policy_with_form_action(*origins: str) -> str:
    """The policy, letting forms also lead to `origins`: a sign-in form's answer redirects
    to the application, and browsers hold that redirect to form-action too."""
    extra = " ".join(dict.fromkeys(origins))
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'", f"form-action 'self' {extra}")
