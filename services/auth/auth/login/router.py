"""`POST /auth/register` and `POST /auth/login` for consuming applications."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from auth.context import SignInContext
from auth.login import service
from auth.schemas import DeviceIn, LoginField, MfaRequired, Strict, TokenResponse, UserOut
from shared.db import DbSession, in_transaction
from shared.errors import error_responses
from shared.pipeline import CallingApp

router = APIRouter(prefix="/auth", tags=["sign-in"], responses=error_responses(401, 403, 422))


class RegisterIn(Strict):
    login: str = LoginField


class RegisterOut(BaseModel):
    user: UserOut


class LoginIn(Strict):
    login: str = LoginField
    password: str = Field(min_length=1, max_length=1024)
    device: DeviceIn | None = None


@router.post("/register", response_model=RegisterOut, responses=error_responses(404))
def register(request: Request, db: DbSession, caller: CallingApp, body: RegisterIn) -> Any:
    """Check whether a user exists in the directory and is assigned to the calling application."""
    result = service.register(
        db, request.app.state.runtime, SignInContext.for_app(caller), body.login
    )
    caller.subject_user_id = result["user"]["auth_user_id"]
    return result


@router.post(
    "/login",
    response_model=TokenResponse | MfaRequired,
    response_model_exclude_unset=True,
    responses=error_responses(429),
)
async def login(request: Request, caller: CallingApp, body: LoginIn) -> Any:
    """Login with email/mobile number and password.

    Returns user, session, access token, and refresh token.
    """
    runtime, ctx = request.app.state.runtime, SignInContext.for_app(caller)
    result = await in_transaction(
        request.app.state.session_factory,
        lambda db: service.password_sign_in(
            db, runtime, ctx, body.login, body.password, body.device
        ),
    )
    if "user" in result:
        caller.subject_user_id = result["user"]["auth_user_id"]
    caller.details["mfa_required"] = bool(result.get("mfa_required"))
    return result
