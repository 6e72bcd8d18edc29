"""`POST /auth/mfa/verify` and `POST /auth/mfa/otp`: the second step of a REST sign-in."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import Field

from auth.context import SignInContext
from auth.mfa import service
from auth.schemas import DeviceIn, OtpChallenge, Strict, TokenResponse
from shared.db import in_transaction
from shared.errors import error_responses
from shared.otp_contract import Channel
from shared.pipeline import CallingApp

router = APIRouter(prefix="/auth/mfa", tags=["sign-in"], responses=error_responses(401, 403, 422))

ChallengeId = Field(min_length=1, max_length=64, description="From the `mfa_required` answer")


class MfaVerifyIn(Strict):
    mfa_challenge_id: str = ChallengeId
    method: Literal["totp", "recovery_code"]
    code: str = Field(
        min_length=6,
        max_length=32,
        description="The authenticator app's 6 digits, or one recovery code",
        examples=["123456"],
    )
    device: DeviceIn | None = None


class MfaOtpIn(Strict):
    mfa_challenge_id: str = ChallengeId
    channel: Channel | None = None


@router.post("/verify", response_model=TokenResponse, responses=error_responses(429))
async def verify(request: Request, caller: CallingApp, body: MfaVerifyIn) -> Any:
    """Complete a sign-in that answered `mfa_required` with a TOTP or recovery code.

    A TOTP code is accepted once, within one 30-second step of the server's clock;
    a recovery code once ever. Wrong codes count towards the account's lockout.
    """
    runtime, ctx = request.app.state.runtime, SignInContext.for_app(caller)
    result = await in_transaction(
        request.app.state.session_factory,
        lambda db: service.complete(
            db,
            runtime,
            ctx,
            challenge_id=body.mfa_challenge_id,
            method=body.method,
            code=body.code,
            device=body.device,
        ),
    )
    caller.subject_user_id = result["user"]["auth_user_id"]
    return result


@router.post(
    "/otp",
    status_code=202,
    response_model=OtpChallenge,
    response_model_exclude_unset=True,
    responses=error_responses(429),
)
async def send_otp(request: Request, caller: CallingApp, body: MfaOtpIn) -> Any:
    """Send an SMS or email code for a pending second step whose `methods` include `otp`;
    complete it with `POST /auth/otp/verify`."""
    runtime, ctx = request.app.state.runtime, SignInContext.for_app(caller)
    return await in_transaction(
        request.app.state.session_factory,
        lambda db: service.send_code(db, runtime, ctx, body.mfa_challenge_id, body.channel),
    )
