"""The console service: the administrators' web app at /setup, and `/console/api/platform`.

Pages are rendered on the server; everything they show or change goes
through the other services' HTTP APIs with the signed-in administrator's
token (`console.api`). The console's own data is the platform settings.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from console.api import ApiError, SignInRequired
from console.kept_uploads import UploadKeeper
from console.pages import ROUTERS
from console.pages.service_setup import session_store_down_page
from console.platform.assets import BrandingCache
from console.platform.assets import router as assets_router
from console.platform.router import router as platform_router
from console.rendering import render
from console.security.csrf import CsrfRejected
from console.security.middleware import NO_CSP_PATHS, PAGE_PREFIX, SessionMiddleware
from console.security.session import SessionStore
from shared.runtime import Runtime
from shared.service_app import create_service_app
from shared.web_pages import SecurityHeadersMiddleware

DESCRIPTION = (
    "Configure shared identity for apps. App-level authorization stays inside each "
    "application. The console's own API: platform settings and branding."
)
STATIC = Path(__file__).parent / "static"


def create_app(runtime: Runtime) -> FastAPI:
    app = create_service_app(
        name="console",
        title="Identity Services — console",
        description=DESCRIPTION,
        ops_prefix="/console",
        routers=[platform_router, assets_router, *ROUTERS],
        runtime=runtime,
    )
    store = SessionStore(runtime)
    app.state.session_store = store
    app.state.branding = BrandingCache(runtime)
    app.state.upload_keeper = UploadKeeper(runtime)
    app.state.api_target = runtime.settings.console_api_base_url
    app.state.openapi_cache = {}
    app.mount("/console/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(
        SessionMiddleware, runtime=runtime, store=store, store_down=session_store_down_page
    )
    app.add_middleware(
        SecurityHeadersMiddleware, page_prefixes=(PAGE_PREFIX,), no_csp_paths=NO_CSP_PATHS
    )
    _install_page_errors(app)
    return app


def use_in_process_api(console: FastAPI, target: ASGIApp) -> None:
    """Call the services inside this process (embedded dev mode, tests) instead of over TCP."""
    console.state.api_target = target


def _install_page_errors(app: FastAPI) -> None:
    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, _: Exception) -> Response:
        message = (
            "This form has expired or did not come from this console. "
            "Reload the page and try again."
        )
        return await render(request, "error.html", {"message": message}, status_code=403)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: Exception) -> Response:
        session = request.state.console_session
        message = exc.message if isinstance(exc, SignInRequired) else "Sign in to continue."
        session.notify(message, "error")
        return RedirectResponse("/setup", status_code=303)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: Exception) -> HTMLResponse:
        status = exc.status if isinstance(exc, ApiError) else 500
        return await render(request, "error.html", {"message": str(exc)}, status_code=status)
