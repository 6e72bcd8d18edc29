"""Signing in to the console: password or OTP, then a second factor where one is needed
(an authenticator app, a recovery code, or a code by SMS or email), the first
administrator, sign-out.

Only administrator accounts get in; the auth service decides, and says
nothing about whether a login exists or is an administrator. A pending step
(its `otp_request_id` or `mfa_challenge_id`) is kept in the console session,
server-side, never in the page.
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
# Refusals after which the pending sign-in cannot go on: it starts again from the first step.
ENDS_SIGN_IN = frozenset(
    {
        "otp_expired",
        "otp_not_found",
        "otp_attempts_exceeded",
        "account_locked",
        "mfa_challenge_expired",
        "mfa_enrollment_required",
        "mfa_browser_required",
    }
)


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
        "account_page": f"{request.app.state.runtime.settings.issuer}/account",
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
        return await _refused(request, exc, "password", values)
    return await _after_first_factor(request, api, answer, body["login"])


async def _after_first_factor(
    request: Request, api: ConsoleApi, answer: dict[str, Any], login: str
) -> Response:
    """Signed in, or the second step: the code already sent (it was the only way), or
    the authenticator app, a recovery code or a code on request."""
    if not answer.get("mfa_required"):
        return await _start_session(request, api, answer)
    session = session_of(request)
    if answer.get("otp_request_id"):
        session.challenge = _challenge(answer, login, mfa=True)
    else:
        session.challenge = {
            "mfa_challenge_id": answer.get("mfa_challenge_id"),
            "methods": [m for m in answer.get("methods") or [] if isinstance(m, str)],
            "login": login,
            "mfa": True,
        }
    return await sign_in_page(request)


async def _refused(
    request: Request, exc: ApiError, form: str, values: dict[str, str] | None = None
) -> Response:
    """A refusal shown at its form; one that ends a pending step at the top instead."""
    session = session_of(request)
    ends = exc.code in ENDS_SIGN_IN or (exc.status == 429 and exc.code != "otp_throttled")
    if session.challenge is not None and ends:
        session.challenge = None
        form = "ended"
    return await sign_in_page(request, error=exc, form=form, values=values)


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
    if not challenge or not challenge.get("otp_request_id"):
        return redirect("/setup")
    body = {"otp_request_id": challenge["otp_request_id"], "code": values.get("code", "")}
    try:
        answer = await api.post("/auth/admin/otp/verify", auth=False, json=body)
    except ApiError as exc:
        return await _refused(request, exc, "code", values)
    # A code as the first factor: an administrator with an authenticator app is asked for it.
    return await _after_first_factor(request, api, answer, str(challenge.get("login") or ""))


def _pending_second_step(request: Request) -> str | None:
    challenge = session_of(request).challenge or {}
    challenge_id = challenge.get("mfa_challenge_id")
    return challenge_id if isinstance(challenge_id, str) and challenge_id else None


@router.post("/sign-in/mfa/verify")
async def verify_second_factor(request: Request, api: Api) -> Response:
    """The second step with the authenticator app's code or a recovery code."""
    values = await form_values(request)
    challenge_id = _pending_second_step(request)
    if challenge_id is None:
        return redirect("/setup")
    method = values.get("method", "")
    body = {"mfa_challenge_id": challenge_id, "method": method, "code": values.get("code", "")}
    try:
        tokens = await api.post("/auth/admin/mfa/verify", auth=False, json=body)
    except ApiError as exc:
        return await _refused(
            request, exc, "recovery_code" if method == "recovery_code" else "totp"
        )
    return await _start_session(request, api, tokens)


@router.post("/sign-in/mfa/otp")
async def send_second_factor_code(request: Request, api: Api) -> Response:
    """A code by SMS or email instead of the authenticator app; then the code form."""
    challenge_id = _pending_second_step(request)
    if challenge_id is None:
        return redirect("/setup")
    try:
        answer = await api.post(
            "/auth/admin/mfa/otp", auth=False, json={"mfa_challenge_id": challenge_id}
        )
    except ApiError as exc:
        return await _refused(request, exc, "send")
    login = str((session_of(request).challenge or {}).get("login") or "")
    session_of(request).challenge = _challenge(answer, login, mfa=True)
    return await sign_in_page(request)


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
