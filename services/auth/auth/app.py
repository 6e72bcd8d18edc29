"""The auth service: sign-in, tokens, sessions, devices, recovery; admin sign-in."""

from __future__ import annotations

from pathlib import Path

import structlog
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from auth.account.router import router as account_router
from auth.admin.activity_router import router as admin_activity_router
from auth.admin.router import router as admin_router
from auth.admin.setup import announce_setup_token
from auth.events import DirectoryEventConsumer
from auth.keys.router import admin_router as keys_admin_router
from auth.keys.router import jwks_router
from auth.keys.schedule import register_rotation_schedule
from auth.login.router import router as login_router
from auth.mfa.router import router as mfa_router
from auth.oidc.client_admin import router as oidc_clients_router
from auth.oidc.hosted import ACCOUNT_PATH
from auth.oidc.router import PREFIX as OIDC_PREFIX
from auth.oidc.router import router as oidc_router
from auth.oidc.server import OidcServer
from auth.otp.router import router as otp_router
from auth.recovery.router import router as recovery_router
from auth.sessions.hot_path import SessionHotPath
from auth.sessions.router import router as sessions_router
from auth.sessions.verified import VerifiedTokens
from shared.runtime import Runtime
from shared.service_app import create_service_app
from shared.signing_keys import ensure_signing_keys
from shared.web_pages import SecurityHeadersMiddleware

log = structlog.get_logger("auth")

STATIC_PATH = "/auth/static"
STATIC_DIR = Path(__file__).parent / "static"

DESCRIPTION = (
    "Shared authentication endpoints for registered applications. "
    "Use an API Auth Key from the Applications section."
)


def prepare(runtime: Runtime) -> None:
    """At start: every algorithm has a current and a next signing key, the scheduled
    rotation runs, and while there is no administrator the setup token is printed."""
    register_rotation_schedule(runtime)
    try:
        with runtime.session_factory() as session:
            ensure_signing_keys(session, runtime.box)
    except Exception as exc:  # minting retries it; readiness reports the database
        log.warning("signing_key_unavailable", error=str(exc))
    announce_setup_token(runtime)


def create_app(runtime: Runtime) -> FastAPI:
    app = create_service_app(
        name="auth",
        title="Identity Services — auth",
        description=DESCRIPTION,
        ops_prefix="/auth",
        routers=[
            login_router,
            otp_router,
            mfa_router,
            sessions_router,
            recovery_router,
            admin_router,
            admin_activity_router,
            keys_admin_router,
            jwks_router,
            oidc_router,
            oidc_clients_router,
            account_router,
        ],
        runtime=runtime,
        on_start=prepare,
        hot_paths=[SessionHotPath],
    )
    consumer = DirectoryEventConsumer(runtime)
    runtime.add_background(consumer.start, consumer.stop)
    app.state.directory_events = consumer
    app.state.verified_tokens = VerifiedTokens(runtime)
    app.state.oidc = OidcServer(runtime)
    # The hosted sign-in, logout and account pages: the console's headers
    # (shared/web_pages.py); their one script is served here too.
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="auth-static")
    app.add_middleware(
        SecurityHeadersMiddleware,
        page_prefixes=(OIDC_PREFIX, ACCOUNT_PATH),
        only_under=(OIDC_PREFIX, ACCOUNT_PATH, STATIC_PATH),
    )
    return app
