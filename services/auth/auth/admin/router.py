"""Console sign-in: first-administrator setup, password and OTP login, refresh, logout.
Tokens carry the console audience. (Signing-key rotation: `auth/keys/router.py`.)"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from auth.admin import setup
from auth.admin.schemas import (
    AdminLoginIn,
    AdminMfaOtpIn,
    AdminMfaVerifyIn,
    AdminOtpRequestIn,
    AdminOtpVerifyIn,
    AdminRefreshIn,
    SetupIn,
)
from auth.context import SignInContext
from auth.errors import InvalidSetupToken, SetupUnavailable
from auth.login.service import password_sign_in
from auth.mfa import service as mfa_service
from auth.otp import service as otp_service
from auth.schemas import MfaRequired, OtpChallenge, TokenResponse
from auth.sessions import service as session_service
from auth.sessions.router import LogoutOut
from auth.trail import emit_on_commit, sign_in_record
from shared.after_commit import defer
from shared.audit import EventType
from shared.db import DbSession
from shared.errors import error_responses
from shared.tokens import InvalidToken

router = APIRouter(prefix="/auth/admin", tags=["console sign-in"], responses=error_responses(422))
console_bearer = HTTPBearer(auto_error=False, description="An administrator's access token")

SETUP_LOCK_SECONDS = 30


@router.post(
    "/setup", status_code=201, response_model=TokenResponse, responses=error_responses(403, 409)
)
def setup_first_admin(request: Request, db: DbSession, body: SetupIn) -> Any:
    """Create the first administrator with the one-time setup token (only while none exists)."""
    runtime = request.app.state.runtime
    if setup.admin_exists(db):
        raise SetupUnavailable()
    if not setup.setup_token_matches(runtime, body.setup_token):
        raise InvalidSetupToken()
    lock = runtime.keys("auth", "setup-lock")
    # Two set-ups at once: one goes ahead, the other is told an administrator exists.
    if not runtime.redis.set(lock, 1, nx=True, ex=SETUP_LOCK_SECONDS):
        raise SetupUnavailable("The first administrator is being created right now.")
    try:
        user = setup.create_first_admin(
            db,
            runtime,
            name=body.name,
            email=body.email,
            mobile_number=body.mobile_number,
            password=body.password,
        )
    except BaseException:
        runtime.redis.delete(lock)
        raise
    defer(db, lambda: setup.forget_setup_token(runtime))
    defer(db, lambda: runtime.redis.delete(lock))
    ctx = SignInContext.for_console(request)
    emit_on_commit(db, runtime, sign_in_record(ctx, EventType.ADMIN_SETUP, user_id=user.id))
    return session_service.issue_token_pair(db, runtime, ctx, user, None, "setup")


@router.post(
    "/login",
    response_model=TokenResponse | MfaRequired,
    response_model_exclude_unset=True,
    responses=error_responses(401, 429),
)
def admin_login(request: Request, db: DbSession, body: AdminLoginIn) -> Any:
    """Sign in to the console with an administrator's email or mobile number and password."""
    ctx = SignInContext.for_console(request)
    return password_sign_in(db, request.app.state.runtime, ctx, body.login, body.password, None)


@router.post(
    "/otp/request",
    status_code=202,
    response_model=OtpChallenge,
    response_model_exclude_unset=True,
    responses=error_responses(429),
)
def admin_otp_request(request: Request, db: DbSession, body: AdminOtpRequestIn) -> Any:
    """Send a console sign-in code to an administrator's email or mobile number."""
    ctx = SignInContext.for_console(request)
    return otp_service.request_code(db, request.app.state.runtime, ctx, body.login, body.channel)


@router.post(
    "/otp/verify",
    response_model=TokenResponse | MfaRequired,
    response_model_exclude_unset=True,
    responses=error_responses(401, 429),
)
def admin_otp_verify(request: Request, db: DbSession, body: AdminOtpVerifyIn) -> Any:
    """Verify a console sign-in code and receive console tokens."""
    return otp_service.verify_code(
        db,
        request.app.state.runtime,
        SignInContext.for_console(request),
        request_id=body.otp_request_id,
        login_text=body.login,
        code=body.code,
        device=None,
    )


@router.post("/mfa/verify", response_model=TokenResponse, responses=error_responses(401, 429))
def admin_mfa_verify(request: Request, db: DbSession, body: AdminMfaVerifyIn) -> Any:
    """Complete a console sign-in that answered `mfa_required` with a TOTP or recovery code."""
    return mfa_service.complete(
        db,
        request.app.state.runtime,
        SignInContext.for_console(request),
        challenge_id=body.mfa_challenge_id,
        method=body.method,
        code=body.code,
        device=None,
    )


@router.post(
    "/mfa/otp",
    status_code=202,
    response_model=OtpChallenge,
    response_model_exclude_unset=True,
    responses=error_responses(401, 429),
)
def admin_mfa_otp(request: Request, db: DbSession, body: AdminMfaOtpIn) -> Any:
    """Send a code by SMS or email for a console second step whose methods include `otp`."""
    return mfa_service.send_code(
        db,
        request.app.state.runtime,
        SignInContext.for_console(request),
        body.mfa_challenge_id,
        body.channel,
    )


@router.post("/token/refresh", response_model=TokenResponse, responses=error_responses(401, 409))
def admin_refresh(request: Request, db: DbSession, body: AdminRefreshIn) -> Any:
    """Exchange a console refresh token for a new token pair."""
    ctx = SignInContext.for_console(request)
    return session_service.refresh_token_pair(
        db, request.app.state.runtime, ctx, body.refresh_token
    )


@router.post("/logout", response_model=LogoutOut, responses=error_responses(401))
def admin_logout(
    request: Request,
    db: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(console_bearer)],
) -> Any:
    """End the console session of this access token."""
    if credentials is None:
        raise InvalidToken("A bearer access token is required.")
    ctx = SignInContext.for_console(request)
    session_service.logout(db, request.app.state.runtime, ctx, None, credentials.credentials)
    return {"revoked": True}
