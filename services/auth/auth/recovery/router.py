"""`POST /auth/password/request-reset` and `POST /auth/password/reset`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from auth.context import SignInContext
from auth.recovery import service
from auth.schemas import LoginField, Strict
from shared.db import DbSession
from shared.errors import error_responses
from shared.otp_contract import Channel
from shared.pipeline import CallingApp

router = APIRouter(
    prefix="/auth/password", tags=["recovery"], responses=error_responses(401, 403, 422)
)


class ResetRequestIn(Strict):
    login: str = LoginField


class ResetRequestOut(BaseModel):
    channel: Channel
    destination: str
    expires_in: int
    dev_token: str | None = Field(default=None, description="Only when dev codes are enabled")


class ResetIn(Strict):
    token: str = Field(min_length=16, max_length=256)
    new_password: str = Field(min_length=1, max_length=1024)


class ResetOut(BaseModel):
    password_reset: bool
    sessions_revoked: int


@router.post(
    "/request-reset",
    status_code=202,
    response_model=ResetRequestOut,
    response_model_exclude_unset=True,
    responses=error_responses(404, 429),
)
def request_reset(request: Request, db: DbSession, caller: CallingApp, body: ResetRequestIn) -> Any:
    """Start password reset or account recovery for a mobile number or email address."""
    return service.request_reset(
        db, request.app.state.runtime, SignInContext.for_app(caller), body.login
    )


@router.post("/reset", response_model=ResetOut)
def reset(request: Request, db: DbSession, caller: CallingApp, body: ResetIn) -> Any:
    """Complete password reset with the recovery token."""
    return service.complete_reset(
        db, request.app.state.runtime, SignInContext.for_app(caller), body.token, body.new_password
    )
