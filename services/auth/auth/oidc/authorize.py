"""The authorization endpoint: recognises a signed-in user (single sign-on) or shows the hosted
sign-in page; the page is reached by users' browsers and is not IP-filtered."""

from __future__ import annotations

import secrets
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Error
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

from auth.accounts import get_user_for_app
from auth.context import SignInContext
from auth.errors import NotAssigned
from auth.mfa import service as mfa
from auth.mfa.policy import CODE, PASSWORD
from auth.oidc import pages
from auth.oidc.clients import RegisteredClient
from auth.oidc.flows import FlowStore, browser_cookie
from auth.oidc.grants import SignedInUser
from auth.oidc.hosted import denied_page, record_authorized, signin_page
from auth.oidc.http import (
    MAX_QUERY_BYTES,
    audit,
    oauth_request,
    runtime_of,
    secure,
    server_of,
    set_cookie,
    sso_cookie_name,
    too_large,
)
from auth.oidc.schemas import html_pages
from auth.oidc.server import require_secure_issuer
from auth.oidc.sso import current_sso_session
from shared.audit import EventType, Outcome
from shared.db import transaction
from shared.models import AuthSession
from shared.models.base import utcnow
from shared.runtime import Runtime
from shared.web_pages import is_https

router = APIRouter(tags=["OpenID Connect"])


def browser_secret(request: Request) -> tuple[str, bool]:
    """This browser's flow secret: (value, whether it must be set as a new cookie)."""
    name = browser_cookie(is_https(request, runtime_of(request).settings.trusted_proxy_networks))
    current = request.cookies.get(name)
    if current and 20 <= len(current) <= 64:
        return current, False
    return secrets.token_urlsafe(32), True


@router.get(
    "/auth/oidc/authorize",
    response_class=HTMLResponse,
    responses={
        302: {"description": "Back to the application: `code` and `state`, or `error`"},
        **html_pages(
            s200="The hosted sign-in page",
            s400="An error page: unknown client, unregistered redirect URI, too large",
            s503="OpenID Connect needs an https issuer in production",
        ),
    },
)
async def authorize(request: Request) -> Response:
    """The authorization endpoint: signs the user in (or recognises their sign-in) and
    returns to the application with a code."""
    return await run_in_threadpool(_authorize, request)


def _authorize(request: Request) -> Response:
    runtime, server = runtime_of(request), server_of(request)
    if not require_secure_issuer(runtime):
        return pages.error_page(
            request,
            "Sign-in is not available",
            "OpenID Connect needs HTTPS: the deployment's token issuer is plain http.",
            status_code=503,
        )
    params = list(request.query_params.multi_items())
    if len(request.url.query) > MAX_QUERY_BYTES or too_large(params):
        return pages.error_page(request, "This sign-in request is not valid", "It is too large.")
    browser, new_browser = browser_secret(request)
    with transaction(runtime.session_factory) as db:
        oreq = oauth_request(request, db, params)
        client = server.query_client(request.query_params.get("client_id", ""))
        ctx = (
            SignInContext.for_client(client.application_id, client.name, request)
            if client
            else None
        )
        sso = current_sso_session(db, request.cookies.get(sso_cookie_name(request)))
        signed_in, refusal = _recognised(
            db, runtime, ctx, client, sso, request.query_params.get("prompt")
        )
        try:
            grant = server.get_consent_grant(oreq, end_user=signed_in)
        except OAuth2Error as error:
            details = {"reason": error.error, "description": error.description}
            audit(
                runtime,
                ctx,
                EventType.OIDC_DENIED,
                outcome=Outcome.DENIED,
                details=details,
                request=request,
            )
            if error.redirect_uri:  # validated against the client's registered URIs
                return server.handle_error_response(oreq, error)
            return denied_page(request, error)
        assert client is not None and ctx is not None  # the grant validated the client
        if signed_in is not None:
            response = server.create_authorization_response(oreq, grant_user=signed_in, grant=grant)
            record_authorized(runtime, ctx, signed_in, via="sso")
            return response
        flow = FlowStore(runtime).start(client.client_id, params, browser)
        if refusal is not None:
            audit(
                runtime,
                ctx,
                EventType.OIDC_DENIED,
                user_id=sso.user_id if sso else None,
                outcome=Outcome.DENIED,
                details={"reason": "not_assigned", "via": "sso"},
            )
        response = signin_page(request, flow, browser, client_name=client.name, error=refusal)
    if new_browser:
        set_cookie(request, response, browser_cookie(secure(request)), browser, 3600)
    return response


def _recognised(
    db: Any,
    runtime: Runtime,
    ctx: SignInContext | None,
    client: RegisteredClient | None,
    sso: AuthSession | None,
    prompt: str | None,
) -> tuple[SignedInUser | None, str | None]:
    """The user a live provider session signs in again, or why it cannot (then: the page).
    A session without a second factor does not do for an application that needs one."""
    if sso is None or client is None or ctx is None or "login" in (prompt or "").split():
        return None, None
    user, assigned = get_user_for_app(db, sso.user_id, client.application_id)
    if user is None or user.status != "active" or user.is_admin:
        return None, None
    if not assigned:
        return None, NotAssigned.message
    methods = tuple((sso.auth_methods or "").split())
    if "mfa" not in methods:
        first = CODE if methods == (CODE,) else PASSWORD
        step, _ = mfa.requirement(db, runtime, ctx, user, first)
        if step is not None:
            return None, None
    sso.last_seen_at = utcnow()
    return SignedInUser(user, sso.id, int(sso.created_at.timestamp()), methods), None
