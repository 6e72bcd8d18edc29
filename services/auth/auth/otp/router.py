"""`POST /auth/otp/request` and `POST /auth/otp/verify` for consuming applications."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field, model_validator

from auth.context import SignInContext
from auth.otp import service
from auth.schemas import DeviceIn, LoginField, MfaRequired, OtpChallenge, Strict, TokenResponse
from shared.db import in_transaction
from shared.errors import error_responses
from shared.otp_contract import Channel
from shared.pipeline import CallingApp

router = APIRouter(prefix="/auth/otp", tags=["sign-in"], responses=error_responses(401, 403, 422))


class OtpRequestIn(Strict):
    login: str = LoginField
    channel: Channel | None = None


class OtpVerifyIn(Strict):
    otp_request_id: str | None = Field(default=None, min_length=1, max_length=64)
    login: str | None = Field(default=None, min_length=1, max_length=254)
    code: str = Field(pattern=r"^[0-9]{4,10}$")
    device: DeviceIn | None = None

    @model_validator(mode="after")
    def _one_way_to_name_the_code(self) -> OtpVerifyIn:
        if (self.otp_request_id is None) == (self.login is None):
            raise ValueError("give either otp_request_id or login")
        return self


@router.post(
    "/request",
    status_code=202,
    response_model=OtpChallenge,
    response_model_exclude_unset=True,
    responses=error_responses(404, 429),
)
async def request_otp(request: Request, caller: CallingApp, body: OtpRequestIn) -> Any:
    """Request a login OTP by mobile number or email address."""
    runtime, ctx = request.app.state.runtime, SignInContext.for_app(caller)
    return await in_transaction(
        request.app.state.session_factory,
        lambda db: service.request_code(db, runtime, ctx, body.login, body.channel),
    )


@router.post(
    "/verify",
    response_model=TokenResponse | MfaRequired,
    response_model_exclude_unset=True,
    responses=error_responses(404, 429),
)
async def verify_otp(request: Request, caller: CallingApp, body: OtpVerifyIn) -> Any:
    """Verify an OTP and receive access and refresh tokens.

    A user with an authenticator app (or where codes do not count as a second
    factor) is answered `mfa_required` instead, as `/auth/login` is.
    """
    runtime, ctx = request.app.state.runtime, SignInContext.for_app(caller)
    result = await in_transaction(
        request.app.state.session_factory,
        lambda db: service.verify_code(
            db,
            runtime,
            ctx,
            request_id=body.otp_request_id,
            login_text=body.login,
            code=body.code,
            device=body.device,
        ),
    )
    if "user" in result:
        caller.subject_user_id = result["user"]["auth_user_id"]
    caller.details["mfa_required"] = bool(result.get("mfa_required"))
    return result
