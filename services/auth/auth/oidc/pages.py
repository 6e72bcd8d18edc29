"""Rendering the hosted pages: the console's look and branding, strict headers, no caching.

The pages use the console's stylesheet and branding (same host, behind the same
Traefik), so a user sees one product. Their Content-Security-Policy is the
console's, except that a sign-in form may lead to the application's
registered redirect URI (the answer to the last form post redirects there,
and browsers hold that redirect to `form-action`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse

from shared.platform import logo_url, read_branding
from shared.runtime import Runtime
from shared.web_pages import policy_with_form_action

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def branding(runtime: Runtime) -> dict[str, Any]:
    with runtime.session_factory() as session:
        value = read_branding(session)
    return {**value, "logo_url": logo_url(value)}


def origin_of(uri: str | None) -> str | None:
    if not uri:
        return None
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def page(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    redirect_uri: str | None = None,
) -> HTMLResponse:
    """A hosted page; `redirect_uri`: where its forms' answers may redirect (validated)."""
    runtime: Runtime = request.app.state.runtime
    response = templates.TemplateResponse(
        request,
        name,
        {"branding": branding(runtime), **context},
        status_code=status_code,
    )
    target = origin_of(redirect_uri)
    if target:
        response.headers["content-security-policy"] = policy_with_form_action(target)
    return response


def error_page(request: Request, title: str, message: str, status_code: int = 400) -> HTMLResponse:
    """An error a user sees at the provider (never a redirect to an unverified address)."""
    return page(
        request, "oidc_error.html", {"title": title, "message": message}, status_code=status_code
    )
