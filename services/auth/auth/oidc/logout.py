"""RP-initiated logout: ends the provider session and the application sessions it gave."""

from __future__ import annotations

import secrets
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Error
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

from auth.context import SignInContext
from auth.oidc import pages
from auth.oidc.endpoints import Logout
from auth.oidc.http import (
    MAX_QUERY_BYTES,
    audit,
    oauth_request,
    read_form,
    runtime_of,
    secure,
    server_of,
    sso_cookie_name,
    too_large,
)
from auth.oidc.schemas import html_pages
from auth.oidc.sso import current_sso_session, end_sso_session
from shared.audit import EventType
from shared.db import transaction
from shared.runtime import Runtime
from shared.web_pages import same_origin

router = APIRouter(tags=["OpenID Connect"])


@router.get(
    "/auth/oidc/logout",
    response_class=HTMLResponse,
    responses={
        302: {"description": "To the registered post-logout redirect URI, with `state`"},
        **html_pages(
            s200="Signed out, or asked to confirm",
            s400="An invalid request (an id_token_hint we did not issue): no redirect",
            s403="A form posted from another site",
        ),
    },
)
async def logout(request: Request) -> Response:
    """RP-initiated logout: ends the provider session (and the sessions it gave)."""
    return await _logout_request(request)


@router.post(
    "/auth/oidc/logout",
    response_class=HTMLResponse,
    responses={
        302: {"description": "To the registered post-logout redirect URI, with `state`"},
        **html_pages(
            s200="Signed out, or asked to confirm",
            s400="An invalid request (an id_token_hint we did not issue): no redirect",
            s403="A form posted from another site",
        ),
    },
)
async def logout_confirmed(request: Request) -> Response:
    """RP-initiated logout, confirmed by the user (the page's form)."""
    return await _logout_request(request)


async def _logout_request(request: Request) -> Response:
    if request.method == "POST":
        if not same_origin(request):
            return pages.error_page(
                request, "Request refused", "This request came from another site.", status_code=403
            )
        form = await read_form(request)
        if form is None:
            return pages.error_page(request, "This form could not be read", "It is too large.")
        params = [(k, str(v)) for k, v in form.multi_items()]
    else:
        params = list(request.query_params.multi_items())
        if len(request.url.query) > MAX_QUERY_BYTES:
            return pages.error_page(request, "Sign-out failed", "The request is too large.")
    if too_large(params):
        return pages.error_page(request, "Sign-out failed", "The request is too large.")
    return await run_in_threadpool(_logout, request, params)


def _logout_csrf(runtime: Runtime, cookie: str) -> str:
    return runtime.box.keyed_hash(f"hosted-logout:{cookie}")


def _logout(request: Request, params: list[tuple[str, str]]) -> Response:
    runtime, server = runtime_of(request), server_of(request)
    cookie = request.cookies.get(sso_cookie_name(request), "")
    fields = dict(params)
    csrf = fields.pop("csrf_token", "")
    with transaction(runtime.session_factory) as db:
        oreq = oauth_request(request, db, list(fields.items()))
        endpoint = Logout(server, oreq)
        try:
            validated = endpoint.validate_request(oreq)
        except OAuth2Error as error:  # a forged or foreign id_token_hint: no redirect
            return pages.error_page(request, "Sign-out failed", error.description or "Invalid.")
        sso = current_sso_session(db, cookie)
        confirmed = (
            request.method == "POST"
            and bool(cookie)
            and secrets.compare_digest(csrf, _logout_csrf(runtime, cookie))
        )
        if validated.needs_confirmation and sso is not None and not confirmed:
            context = {"params": list(fields.items()), "csrf_token": _logout_csrf(runtime, cookie)}
            return pages.page(request, "logout.html", {"signed_out": False, **context})
        ended: dict[str, int] = {}

        def end(_: Any) -> None:
            if sso is None:
                return
            ended["count"] = end_sso_session(db, runtime, sso, "logout")
            client = validated.client
            ctx = (
                SignInContext.for_client(client.application_id, client.name, request)
                if client is not None
                else None
            )
            audit(
                runtime,
                ctx,
                EventType.OIDC_LOGOUT,
                user_id=sso.user_id,
                details={"sso_session_id": str(sso.id), "sessions_ended": ended["count"]},
                request=request,
            )

        oreq.end_provider_session = end
        result = endpoint.create_response(validated)
        if result is not None:
            response: Response = server.handle_response(*result)
        else:
            response = pages.page(
                request,
                "logout.html",
                {"signed_out": True, "ended_apps": ended.get("count", 0) > 1},
            )
    response.delete_cookie(
        sso_cookie_name(request), path="/", secure=secure(request), httponly=True, samesite="lax"
    )
    return response
