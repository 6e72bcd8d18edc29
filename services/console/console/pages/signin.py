"""Signing in to the console: password, OTP (and an MFA code), the first administrator, sign-out.

Only administrator accounts get in; the auth service decides, and says
nothing about whether a login exists or is an administrator.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from console.api import Api, ApiError, ConsoleApi
from console.pages.common import form_values, optional, page_router
from console.rendering import redirect, render, session_of
from shared.models import UserAccount

router = page_router()


def _admin_exists(request: Request) -> bool:
    with request.app.state.session_factory() as db:
        query = select(UserAccount.id).where(UserAccount.is_admin.is_(True)).limit(1)
        return db.scalar(query) is not None


async def sign_in_page(
    request: Request,
    *,
    error: ApiError | None = None,
    form: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    try:
        needs_first_admin = not await run_in_threadpool(_admin_exists, request)
    except Exception:  # the database is away: still offer sign-in
        needs_first_admin = False
    context: dict[str, Any] = {
        "needs_first_admin": needs_first_admin,
        "challenge": session_of(request).challenge,
        "error": error,
        "error_form": form,
        "errors": error.fields if error else {},
        "values": values or {},
    }
    status = error.status if error else 200
    return await render(request, "signin.html", context, section="access", status_code=status)


async def _start_session(request: Request, api: ConsoleApi, tokens: dict[str, Any]) -> Response:
    """Swap the anonymous session for a signed-in one (a new id: no session fixation)."""
    fresh = api.store.rotate(session_of(request))
    fresh.challenge = None
    user = tokens.get("user") or {}
    fresh.admin = {
        "id": user.get("auth_user_id"),
        "name": user.get("name"),
        "login": user.get("email") or user.get("mobile_number"),
    }
    fresh.created_at = fresh.last_seen_at = time.time()
    request.state.console_session = fresh
    api.keep_tokens(tokens)
    return redirect("/setup")


@router.post("/sign-in")
async def sign_in_with_password(request: Request, api: Api) -> Response:
    values = await form_values(request)
    body = {"login": values.get("login", ""), "password": values.get("password", "")}
    try:
        answer = await api.post("/auth/admin/login", auth=False, json=body)
    except ApiError as exc:
        return await sign_in_page(request, error=exc, form="password", values=values)
    if answer.get("mfa_required"):
        session_of(request).challenge = _challenge(answer, values.get("login", ""), mfa=True)
        return await sign_in_page(request)
    return await _start_session(request, api, answer)


@router.post("/sign-in/otp")
async def request_sign_in_code(request: Request, api: Api) -> Response:
    values = await form_values(request)
    body: dict[str, Any] = {"login": values.get("login", "")}
    if values.get("channel") in ("sms", "email"):
        body["channel"] = values["channel"]
    try:
        answer = await api.post("/auth/admin/otp/request", auth=False, json=body)
    except ApiError as exc:
        return await sign_in_page(request, error=exc, form="otp", values=values)
    session_of(request).challenge = _challenge(answer, body["login"], mfa=False)
    return await sign_in_page(request)


def _challenge(answer: dict[str, Any], login: str, *, mfa: bool) -> dict[str, Any]:
    return {
        "otp_request_id": answer.get("otp_request_id"),
        "destination": answer.get("destination"),
        "channel": answer.get("channel"),
        "dev_code": answer.get("dev_code"),
        "login": login,
        "mfa": mfa,
    }


@router.post("/sign-in/otp/verify")
async def verify_sign_in_code(request: Request, api: Api) -> Response:
    values = await form_values(request)
    challenge = session_of(request).challenge
    if not challenge:
        return redirect("/setup")
    body = {"otp_request_id": challenge["otp_request_id"], "code": values.get("code", "")}
    try:
        tokens = await api.post("/auth/admin/otp/verify", auth=False, json=body)
    except ApiError as exc:
        if exc.status == 429 or exc.code in ("otp_expired", "otp_not_found"):
            session_of(request).challenge = None
        return await sign_in_page(request, error=exc, form="code", values=values)
    return await _start_session(request, api, tokens)


@router.post("/sign-in/otp/cancel")
async def cancel_sign_in_code(request: Request) -> Response:
    session_of(request).challenge = None
    return redirect("/setup")


@router.post("/first-admin")
async def create_first_admin(request: Request, api: Api) -> Response:
    values = await form_values(request)
    if values.get("password") != values.get("password_confirm"):
        error = ApiError(422, "validation_error", "The two passwords differ.")
        error.fields["password_confirm"] = "The two passwords differ."
        return await sign_in_page(request, error=error, form="setup", values=values)
    body = {
        "setup_token": values.get("setup_token", ""),
        "name": values.get("name", ""),
        "email": optional(values, "email"),
        "mobile_number": optional(values, "mobile_number"),
        "password": values.get("password", ""),
    }
    try:
        tokens = await api.post("/auth/admin/setup", auth=False, json=body)
    except ApiError as exc:
        return await sign_in_page(request, error=exc, form="setup", values=values)
    response = await _start_session(request, api, tokens)
    session_of(request).notify("Administrator created. Welcome to the console.")
    return response


@router.post("/sign-out")
async def sign_out(request: Request, api: Api) -> Response:
    session = session_of(request)
    if session.signed_in:
        # Ends the session at the auth service too (the refresh token dies with it);
        # if that fails the browser is still signed out here.
        with contextlib.suppress(ApiError):
            await api.send(
                "POST",
                "/auth/admin/logout",
                auth=False,
                headers={"authorization": f"Bearer {session.access_token}"},
            )
    await api.end_session("Signed out.")
    return redirect("/setup")
