"""`GET /auth/session`, `POST /auth/token/refresh`, `POST /auth/logout`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from auth.context import SignInContext
from auth.schemas import SessionOut, Strict, TokenResponse
from auth.sessions import service
from auth.sessions.lookup import session_body
from shared.db import DbSession, in_transaction
from shared.errors import error_responses
from shared.pipeline import CallingApp
from shared.tokens import InvalidToken

router = APIRouter(prefix="/auth", tags=["sessions"], responses=error_responses(401, 403, 422))

bearer = HTTPBearer(auto_error=False, description="The user's access token")
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


class RefreshIn(Strict):
    refresh_token: str = Field(min_length=1, max_length=256)


class LogoutIn(Strict):
    refresh_token: str | None = Field(default=None, min_length=1, max_length=256)


class LogoutOut(BaseModel):
    revoked: bool


@router.get("/session", response_model=SessionOut)
async def get_session(request: Request, caller: CallingApp, credentials: Bearer) -> Any:
    """Validate an access token and load the authenticated user."""
    # Served by `SessionHotPath` in front of the router; this route documents it.
    return await session_body(request, caller, credentials.credentials if credentials else None)


@router.post("/token/refresh", response_model=TokenResponse, responses=error_responses(409))
async def refresh(request: Request, caller: CallingApp, body: RefreshIn) -> Any:
    """Exchange a refresh token for a new access token."""
    runtime, ctx = request.app.state.runtime, SignInContext.for_app(caller)
    result = await in_transaction(
        request.app.state.session_factory,
        lambda db: service.refresh_token_pair(db, runtime, ctx, body.refresh_token),
    )
    caller.subject_user_id = result["user"]["auth_user_id"]
    return result


@router.post("/logout", response_model=LogoutOut)
def logout(
    request: Request,
    db: DbSession,
    caller: CallingApp,
    credentials: Bearer,
    body: LogoutIn | None = None,
) -> Any:
    """Revoke a session using either an access token or refresh token."""
    refresh_token = body.refresh_token if body else None
    if refresh_token is None and credentials is None:
        raise InvalidToken("Send a refresh_token or a bearer access token.")
    service.logout(
        db,
        request.app.state.runtime,
        SignInContext.for_app(caller),
        refresh_token,
        credentials.credentials if credentials else None,
    )
    return {"revoked": True}
